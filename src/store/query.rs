//! The query shapes every table's module would otherwise write out again: rows by a column's
//! value, a column's distinct values, a batch of ids, one page of a listing with its total, an
//! insert that leaves an existing row alone, an update of some columns or of one row; and what
//! a list's filter selects.

use sea_orm::{
    sea_query::{Expr, IntoCondition, OnConflict},
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    IntoActiveModel, Iterable, PaginatorTrait, PrimaryKeyToColumn, PrimaryKeyTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, TryGetableMany, Value,
};

/// What `col` = `value` selects in `col`'s table.
fn select_by<E: EntityTrait>(
    col: impl ColumnTrait<EntityName = E>,
    value: impl Into<Value>,
) -> Select<E> {
    E::find().filter(col.eq(value))
}

/// The row of `col`'s table whose `col` is `value` (a unique column), if any.
pub(crate) async fn one_by<E: EntityTrait, C: ConnectionTrait>(
    c: &C,
    col: impl ColumnTrait<EntityName = E>,
    value: impl Into<Value>,
) -> Result<Option<E::Model>, DbErr> {
    select_by(col, value).one(c).await
}

/// The rows of `col`'s table whose `col` is `value`, in the order of their primary key.
pub(crate) async fn all_by<E: EntityTrait, C: ConnectionTrait>(
    c: &C,
    col: impl ColumnTrait<EntityName = E>,
    value: impl Into<Value>,
) -> Result<Vec<E::Model>, DbErr> {
    let mut q = select_by(col, value);
    for key in E::PrimaryKey::iter() {
        q = q.order_by_asc(key.into_column());
    }
    q.all(c).await
}

/// The distinct values of text column `col` in the rows `cond` selects.
pub(crate) async fn distinct<E: EntityTrait, C: ConnectionTrait>(
    c: &C,
    col: impl ColumnTrait<EntityName = E>,
    cond: impl IntoCondition,
) -> Result<Vec<String>, DbErr> {
    E::find()
        .select_only()
        .column(col)
        .filter(cond)
        .distinct()
        .into_tuple::<String>()
        .all(c)
        .await
}

/// Columns `cols` of the rows `cond` selects (read with `into_tuple`).
pub(crate) fn pick<E: EntityTrait, Col: ColumnTrait<EntityName = E>>(
    cols: impl IntoIterator<Item = Col>,
    cond: impl IntoCondition,
) -> Select<E> {
    E::find().select_only().columns(cols).filter(cond)
}

/// Up to `limit` of the rows `cond` selects, lowest `id` first: their `id` and `more` columns,
/// as the tuple `T` (a batch of rows to work through by id).
pub(crate) async fn first<E, Col, T, C>(
    c: &C,
    id: Col,
    more: &[Col],
    cond: impl IntoCondition,
    limit: u64,
) -> Result<Vec<T>, DbErr>
where
    E: EntityTrait,
    Col: ColumnTrait<EntityName = E>,
    T: TryGetableMany,
    C: ConnectionTrait,
{
    pick(std::iter::once(id).chain(more.iter().copied()), cond)
        .order_by_asc(id)
        .limit(limit)
        .into_tuple()
        .all(c)
        .await
}

/// Sets `col` to `value` in the rows `cond` selects, and nothing else (no `updated_at`).
pub(crate) async fn set_where<E: EntityTrait, C: ConnectionTrait>(
    c: &C,
    col: impl ColumnTrait<EntityName = E>,
    value: impl Into<Value>,
    cond: impl IntoCondition,
) -> Result<(), DbErr> {
    update_where(c, [(col, value.into())], cond).await?;
    Ok(())
}

/// Sets each column of `sets` to its value in the rows `cond` selects, and nothing else; how
/// many rows it changed.
pub(crate) async fn update_where<E, Col, C>(
    c: &C,
    sets: impl IntoIterator<Item = (Col, Value)>,
    cond: impl IntoCondition,
) -> Result<u64, DbErr>
where
    E: EntityTrait,
    Col: ColumnTrait<EntityName = E>,
    C: ConnectionTrait,
{
    let mut q = E::update_many();
    for (col, value) in sets {
        q = q.col_expr(col, Expr::value(value));
    }
    Ok(q.filter(cond).exec(c).await?.rows_affected)
}

/// Row `id` of `E` as `edit` changes it, stored: the row before and after (`None`: there is no
/// such row).
pub(crate) async fn edit_by_id<E, C>(
    c: &C,
    id: i64,
    edit: impl FnOnce(&mut E::ActiveModel),
) -> Result<Option<(E::Model, E::Model)>, DbErr>
where
    E: EntityTrait,
    E::PrimaryKey: PrimaryKeyTrait<ValueType = i64>,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelBehavior + Send,
    C: ConnectionTrait,
{
    let Some(before) = E::find_by_id(id).one(c).await? else {
        return Ok(None);
    };
    let mut am = before.clone().into_active_model();
    edit(&mut am);
    let after = am.update(c).await?;
    Ok(Some((before, after)))
}

/// A list filter's optional conditions: each applies only when the filter has a value for it.
pub(crate) trait FilterIf: QueryFilter + Sized {
    /// `col = value`, when there is a value.
    fn eq_if<V: Into<Value>>(self, col: impl ColumnTrait, value: Option<V>) -> Self {
        match value {
            Some(v) => self.filter(col.eq(v)),
            None => self,
        }
    }
}

impl<Q: QueryFilter> FilterIf for Q {}

/// Deletes the rows of `col`'s table whose `col` is one of `ids` (none: no statement); how many.
pub(crate) async fn delete_in<E: EntityTrait, C: ConnectionTrait>(
    c: &C,
    col: impl ColumnTrait<EntityName = E>,
    ids: &[i64],
) -> Result<u64, DbErr> {
    delete_in_where(c, col, ids, sea_orm::Condition::all()).await
}

/// [`delete_in`] of the rows that `cond` also selects.
pub(crate) async fn delete_in_where<E: EntityTrait, C: ConnectionTrait>(
    c: &C,
    col: impl ColumnTrait<EntityName = E>,
    ids: &[i64],
    cond: impl IntoCondition,
) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(E::delete_many()
        .filter(col.is_in(ids.iter().copied()))
        .filter(cond)
        .exec(c)
        .await?
        .rows_affected)
}

/// One page (1-based; 0 reads as 1) of what `q` selects, in its order, and how many rows it
/// selects in all.
pub(crate) async fn paged<E, C>(
    c: &C,
    q: Select<E>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<E::Model>, u64), DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let total = q.clone().count(c).await?;
    let items = q
        .offset(page.saturating_sub(1) * per_page)
        .limit(per_page)
        .all(c)
        .await?;
    Ok((items, total))
}

/// A list's filter: the rows of one table it selects, in the list's order. Its page is
/// [`page`].
pub trait Selection {
    type Entity: EntityTrait;
    fn select(&self) -> Select<Self::Entity>;
}

/// One page (1-based) of what `f` selects, and how many rows it selects in all.
pub async fn page<F, C>(
    c: &C,
    f: &F,
    page: u64,
    per_page: u64,
) -> Result<(Vec<<F::Entity as EntityTrait>::Model>, u64), DbErr>
where
    F: Selection,
    <F::Entity as EntityTrait>::Model: Sync,
    C: ConnectionTrait,
{
    paged(c, f.select(), page, per_page).await
}

/// Inserts `am` unless a row with the same `unique` columns exists (`ON CONFLICT DO NOTHING`,
/// one round trip, race-free): the new row's id, or `None` when it was there before.
pub(crate) async fn insert_new<A, C>(
    c: &C,
    am: A,
    unique: impl IntoIterator<Item = <A::Entity as EntityTrait>::Column>,
) -> Result<Option<i64>, DbErr>
where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::PrimaryKey: PrimaryKeyTrait<ValueType = i64>,
    C: ConnectionTrait,
{
    let res = <A::Entity as EntityTrait>::insert(am)
        .on_conflict(OnConflict::columns(unique).do_nothing().to_owned())
        .exec(c)
        .await;
    match res {
        Ok(r) => Ok(Some(r.last_insert_id)),
        Err(DbErr::RecordNotInserted) => Ok(None),
        Err(e) => Err(e),
    }
}
