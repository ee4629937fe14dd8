//! A Cloud API number's message templates as last synced from its WhatsApp Business Account:
//! replaced as a whole by a listing, changed one at a time by status webhooks.

use entity::{numbers, templates};
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set,
};

use super::{now_ms, query::update_where};

/// A template as the account lists it.
#[derive(Debug, Clone)]
pub struct TemplateRecord {
    pub template_id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub parameter_format: String,
    /// The components array (JSON text).
    pub components: String,
}

/// Makes `records` the number's templates: new ones added, listed ones updated, the rest (deleted
/// in the account) removed. Returns how many the number has now.
pub async fn replace<C: ConnectionTrait>(
    c: &C,
    number_id: i64,
    records: &[TemplateRecord],
) -> Result<usize, DbErr> {
    let now = now_ms();
    for r in records {
        let am = templates::ActiveModel {
            number_id: Set(number_id),
            template_id: Set(r.template_id.clone()),
            name: Set(r.name.clone()),
            language: Set(r.language.clone()),
            category: Set(r.category.clone()),
            status: Set(r.status.clone()),
            parameter_format: Set(r.parameter_format.clone()),
            components: Set(r.components.clone()),
            reason: Set(None),
            synced_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let key = [
            templates::Column::NumberId,
            templates::Column::Name,
            templates::Column::Language,
        ];
        let changed = [
            templates::Column::TemplateId,
            templates::Column::Category,
            templates::Column::Status,
            templates::Column::ParameterFormat,
            templates::Column::Components,
            templates::Column::SyncedAt,
            templates::Column::UpdatedAt,
        ];
        templates::Entity::insert(am)
            .on_conflict(OnConflict::columns(key).update_columns(changed).to_owned())
            .exec_without_returning(c)
            .await?;
    }
    // Everything this listing did not touch is gone from the account.
    templates::Entity::delete_many()
        .filter(templates::Column::NumberId.eq(number_id))
        .filter(templates::Column::SyncedAt.lt(now))
        .exec(c)
        .await?;
    Ok(records.len())
}

/// A status webhook for account `waba_id`: the template (by Meta's id, else by name and
/// language) takes `status` on every number of that account. Returns the rows changed.
pub async fn set_status<C: ConnectionTrait>(
    c: &C,
    waba_id: &str,
    template_id: &str,
    name: &str,
    language: &str,
    status: &str,
    reason: Option<&str>,
) -> Result<u64, DbErr> {
    let numbers: Vec<i64> = numbers_of_account(c, waba_id)
        .await?
        .into_iter()
        .map(|n| n.id)
        .collect();
    if numbers.is_empty() {
        return Ok(0);
    }
    let by_id = templates::Column::TemplateId.eq(template_id);
    let by_name = templates::Column::Name
        .eq(name)
        .and(templates::Column::Language.eq(language));
    let which = if template_id.is_empty() {
        by_name
    } else {
        by_id.or(by_name)
    };
    let sets = [
        (templates::Column::Status, status.into()),
        (templates::Column::Reason, reason.into()),
        (templates::Column::UpdatedAt, now_ms().into()),
    ];
    let cond = Condition::all()
        .add(templates::Column::NumberId.is_in(numbers))
        .add(which);
    update_where(c, sets, cond).await
}

/// The Cloud API numbers of account `waba_id`.
pub async fn numbers_of_account<C: ConnectionTrait>(
    c: &C,
    waba_id: &str,
) -> Result<Vec<numbers::Model>, DbErr> {
    numbers::Entity::find()
        .filter(numbers::Column::WabaId.eq(waba_id))
        .all(c)
        .await
}

/// A number's templates by name, then language.
pub async fn list<C: ConnectionTrait>(
    c: &C,
    number_id: i64,
) -> Result<Vec<templates::Model>, DbErr> {
    templates::Entity::find()
        .filter(templates::Column::NumberId.eq(number_id))
        .order_by_asc(templates::Column::Name)
        .order_by_asc(templates::Column::Language)
        .all(c)
        .await
}

/// Names the account a Cloud API number belongs to.
pub async fn set_account<C: ConnectionTrait>(
    c: &C,
    number_id: i64,
    waba_id: &str,
) -> Result<(), DbErr> {
    let number = numbers::Column::Id.eq(number_id);
    super::query::set_where(c, numbers::Column::WabaId, waba_id, number).await
}

/// Names (or with `None`, clears) the template a number's CRM messages go as when the window is
/// closed.
pub async fn set_default<C: ConnectionTrait>(
    c: &C,
    number_id: i64,
    template: Option<(&str, &str)>,
) -> Result<(), DbErr> {
    let (name, language) = template.unzip();
    let sets = [
        (numbers::Column::DefaultTemplateName, name.into()),
        (numbers::Column::DefaultTemplateLanguage, language.into()),
        (numbers::Column::UpdatedAt, now_ms().into()),
    ];
    update_where(c, sets, numbers::Column::Id.eq(number_id)).await?;
    Ok(())
}

/// One of a number's templates.
pub async fn find<C: ConnectionTrait>(
    c: &C,
    number_id: i64,
    name: &str,
    language: &str,
) -> Result<Option<templates::Model>, DbErr> {
    templates::Entity::find()
        .filter(templates::Column::NumberId.eq(number_id))
        .filter(templates::Column::Name.eq(name))
        .filter(templates::Column::Language.eq(language))
        .one(c)
        .await
}

/// A stored template as the relay reads it.
pub fn def(t: templates::Model) -> crate::relay::templates::TemplateDef {
    crate::relay::templates::TemplateDef {
        // Stored from Meta's answer as JSON text: an unreadable one reads as no components.
        components: serde_json::from_str(&t.components).unwrap_or_default(),
        name: t.name,
        language: t.language,
        status: t.status,
        parameter_format: t.parameter_format,
    }
}
