//! Key rotation (`b24wa rekey`): every stored secret re-encrypted with the current key, so the
//! previous keys can leave the configuration. Values already under the current key are left
//! alone, so a second run rewrites nothing. Safe while the service runs: each value is replaced
//! only if it still holds what was read (a token the service refreshed meanwhile is not put
//! back), and both the old and the new form decrypt until the previous key is removed.

use entity::{numbers, portals};
use sea_orm::{
    sea_query::Expr, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, IdenStatic, Iterable,
    ModelTrait, PrimaryKeyToColumn, QueryFilter, QueryOrder, QuerySelect, TransactionTrait, Value,
};

use super::crypto::{CryptoError, SecretBox};

/// Rows read and rewritten per transaction.
const BATCH: u64 = 200;
/// Attempts at a value the service keeps changing under us before it is reported.
const ATTEMPTS: usize = 3;

/// The secret columns of each table that has them.
const PORTAL_SECRETS: [portals::Column; 3] = [
    portals::Column::AccessTokenEnc,
    portals::Column::RefreshTokenEnc,
    portals::Column::ApplicationTokenEnc,
];
const NUMBER_SECRETS: [numbers::Column; 3] = [
    numbers::Column::AccessTokenEnc,
    numbers::Column::AppSecretEnc,
    numbers::Column::VerifyTokenEnc,
];

/// One table's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReport {
    pub table: &'static str,
    /// Values re-encrypted with the current key now.
    pub rewritten: u64,
    /// Values that already were (left alone).
    pub current: u64,
}

/// A value left as it was.
#[derive(Debug)]
pub struct Failure {
    pub table: &'static str,
    pub id: i64,
    pub column: String,
    pub error: ValueError,
}

#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("the value kept changing while it was being re-encrypted")]
    Contended,
}

#[derive(Debug, Default)]
pub struct Report {
    pub tables: Vec<TableReport>,
    pub failures: Vec<Failure>,
}

/// Re-encrypts every secret column with `sb`'s current key (one transaction per batch of rows)
/// and records the run in the audit log.
pub async fn rekey(db: &DatabaseConnection, sb: &SecretBox) -> Result<Report, DbErr> {
    let mut report = Report::default();
    table::<portals::Entity>(db, sb, "portals", &PORTAL_SECRETS, &mut report).await?;
    table::<numbers::Entity>(db, sb, "numbers", &NUMBER_SECRETS, &mut report).await?;
    // Counts and key id only: nothing secret.
    let mut after = serde_json::Map::new();
    for t in &report.tables {
        after.insert(
            t.table.to_string(),
            serde_json::json!({"rewritten": t.rewritten, "current": t.current}),
        );
    }
    after.insert("failed".into(), report.failures.len().into());
    super::audit::record(
        db,
        "cli",
        "secrets.rekey",
        &format!("key:{}", sb.kid()),
        None,
        Some(&serde_json::Value::Object(after)),
    )
    .await?;
    Ok(report)
}

/// A value to replace: row, column, what was read, its re-encryption.
struct Change<C> {
    id: i64,
    column: C,
    old: String,
    new: String,
}

/// Re-encrypts `columns` in every row of `E` (reported as `name`), a batch of rows at a time
/// in the order of its id.
async fn table<E: EntityTrait>(
    db: &DatabaseConnection,
    sb: &SecretBox,
    name: &'static str,
    columns: &[E::Column],
    report: &mut Report,
) -> Result<(), DbErr> {
    let id_col = E::PrimaryKey::iter()
        .next()
        .ok_or_else(|| DbErr::Custom(format!("{name}: no primary key")))?
        .into_column();
    let mut t = TableReport {
        table: name,
        ..Default::default()
    };
    let mut last = i64::MIN;
    loop {
        let rows = E::find()
            .filter(id_col.gt(last))
            .order_by_asc(id_col)
            .limit(BATCH)
            .all(db)
            .await?;
        let Some(end) = rows.last() else { break };
        last = int(end.get(id_col))?;
        let mut changes = Vec::new();
        for m in &rows {
            let id = int(m.get(id_col))?;
            for &column in columns {
                let old = text(m.get(column))?;
                if old.is_empty() {
                    continue; // wiped (an uninstalled portal's tokens)
                }
                match sb.reseal(&old) {
                    Ok(None) => t.current += 1,
                    Ok(Some(new)) => changes.push(Change {
                        id,
                        column,
                        old,
                        new,
                    }),
                    Err(e) => report.failures.push(Failure {
                        table: name,
                        id,
                        column: column.as_str().to_string(),
                        error: e.into(),
                    }),
                }
            }
        }
        // The reads above run outside the transaction, whose first statement is a write: on
        // SQLite that takes the write lock at once (waiting for the service's writes) instead
        // of failing to upgrade a read snapshot another writer has moved past.
        let mut raced = Vec::new();
        if !changes.is_empty() {
            let txn = db.begin().await?;
            for c in changes {
                if replace::<E, _>(&txn, id_col, &c).await? {
                    t.rewritten += 1;
                } else {
                    raced.push((c.id, c.column));
                }
            }
            txn.commit().await?;
        }
        for (id, column) in raced {
            retry::<E>(db, sb, name, id_col, id, column, &mut t, report).await?;
        }
        if (rows.len() as u64) < BATCH {
            break;
        }
    }
    report.tables.push(t);
    Ok(())
}

/// Writes `c.new` where the value still is `c.old`; false when it changed (or the row went).
async fn replace<E: EntityTrait, C: sea_orm::ConnectionTrait>(
    conn: &C,
    id_col: E::Column,
    c: &Change<E::Column>,
) -> Result<bool, DbErr> {
    let res = E::update_many()
        .col_expr(c.column, Expr::value(c.new.clone()))
        .filter(id_col.eq(c.id))
        .filter(c.column.eq(c.old.clone()))
        .exec(conn)
        .await?;
    Ok(res.rows_affected > 0)
}

/// A value the service changed between our read and our write: read it again and retry.
#[allow(clippy::too_many_arguments)]
async fn retry<E: EntityTrait>(
    db: &DatabaseConnection,
    sb: &SecretBox,
    name: &'static str,
    id_col: E::Column,
    id: i64,
    column: E::Column,
    t: &mut TableReport,
    report: &mut Report,
) -> Result<(), DbErr> {
    for _ in 0..ATTEMPTS {
        let Some(m) = E::find().filter(id_col.eq(id)).one(db).await? else {
            return Ok(()); // deleted: nothing left to re-encrypt
        };
        let old = text(m.get(column))?;
        if old.is_empty() {
            return Ok(());
        }
        let new = match sb.reseal(&old) {
            Ok(None) => {
                t.current += 1;
                return Ok(());
            }
            Ok(Some(new)) => new,
            Err(e) => {
                report.failures.push(Failure {
                    table: name,
                    id,
                    column: column.as_str().to_string(),
                    error: e.into(),
                });
                return Ok(());
            }
        };
        let c = Change {
            id,
            column,
            old,
            new,
        };
        if replace::<E, _>(db, id_col, &c).await? {
            t.rewritten += 1;
            return Ok(());
        }
    }
    report.failures.push(Failure {
        table: name,
        id,
        column: column.as_str().to_string(),
        error: ValueError::Contended,
    });
    Ok(())
}

fn int(v: Value) -> Result<i64, DbErr> {
    match v {
        Value::BigInt(Some(i)) => Ok(i),
        Value::Int(Some(i)) => Ok(i.into()),
        other => Err(DbErr::Type(format!(
            "expected an integer id, got {other:?}"
        ))),
    }
}

fn text(v: Value) -> Result<String, DbErr> {
    match v {
        Value::String(Some(s)) => Ok(*s),
        // Never print the value: it is a secret.
        _ => Err(DbErr::Type("expected a text secret column".into())),
    }
}
