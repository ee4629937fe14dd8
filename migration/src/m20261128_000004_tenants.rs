//! Tenants (paying customers), their users with roles, the audit log of admin actions, and the
//! tenant that owns each portal. Portals installed before this migration get a tenant each,
//! named after their domain.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::ConnectionTrait};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Name,
    Plan,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Role,
    TenantId,
    Disabled,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    Actor,
    Action,
    Target,
    Before,
    After,
    At,
}

#[derive(DeriveIden)]
enum Portals {
    Table,
    Id,
    Domain,
    CreatedAt,
    TenantId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Tenants::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(text(Tenants::Name))
                    .col(text(Tenants::Plan).default("free"))
                    .col(big_integer(Tenants::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Users::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    // Stored lower-cased; unique.
                    .col(text_uniq(Users::Email))
                    // Argon2 PHC string.
                    .col(text(Users::PasswordHash))
                    // tenant_admin | support | billing
                    .col(text(Users::Role))
                    .col(big_integer_null(Users::TenantId))
                    .col(boolean(Users::Disabled).default(false))
                    .col(big_integer(Users::CreatedAt))
                    .col(big_integer_null(Users::LastLoginAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_users_tenant_id")
                            .from(Users::Table, Users::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Restrict)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_tenant_id")
                    .table(Users::Table)
                    .col(Users::TenantId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AuditLog::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(text(AuditLog::Actor))
                    .col(text(AuditLog::Action))
                    .col(text(AuditLog::Target))
                    // JSON text of the state before and after the action.
                    .col(text_null(AuditLog::Before))
                    .col(text_null(AuditLog::After))
                    .col(big_integer(AuditLog::At))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_audit_log_actor", AuditLog::Actor),
            ("idx_audit_log_action", AuditLog::Action),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditLog::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Portals::Table)
                    .add_column(big_integer_null(Portals::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_portals_tenant_id")
                    .table(Portals::Table)
                    .col(Portals::TenantId)
                    .to_owned(),
            )
            .await?;
        backfill_portal_tenants(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_portals_tenant_id")
                    .table(Portals::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Portals::Table)
                    .drop_column(Portals::TenantId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(AuditLog::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Users::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Tenants::Table).if_exists().to_owned())
            .await
    }
}

/// Every portal installed before tenants existed gets a tenant of its own (named after its
/// domain), as a new install would.
async fn backfill_portal_tenants(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let select = Query::select()
        .columns([Portals::Id, Portals::Domain, Portals::CreatedAt])
        .from(Portals::Table)
        .and_where(Expr::col(Portals::TenantId).is_null())
        .to_owned();
    for row in db.query_all(backend.build(&select)).await? {
        let portal_id: i64 = row.try_get("", "id")?;
        let domain: String = row.try_get("", "domain")?;
        let created_at: i64 = row.try_get("", "created_at")?;
        let insert = Query::insert()
            .into_table(Tenants::Table)
            .columns([Tenants::Name, Tenants::Plan, Tenants::CreatedAt])
            .values_panic([domain.into(), "free".into(), created_at.into()])
            .returning_col(Tenants::Id)
            .to_owned();
        let tenant_id: i64 = db
            .query_one(backend.build(&insert))
            .await?
            .ok_or_else(|| DbErr::Custom("tenant id not returned".into()))?
            .try_get("", "id")?;
        let update = Query::update()
            .table(Portals::Table)
            .value(Portals::TenantId, tenant_id)
            .and_where(Expr::col(Portals::Id).eq(portal_id))
            .to_owned();
        db.execute(backend.build(&update)).await?;
    }
    Ok(())
}
