//! `ai.calls`: one row per model request (each HTTP attempt to Gemini, each offline
//! answer, each cache hit) with tokens, latency and estimated cost, so spend and failure
//! rates can be read per task, model and user. The same calls are counted in
//! `rentory.ai.tokens` and `rentory.ai.cost` for operators' dashboards.

use std::sync::LazyLock;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use rentory_runtime::telemetry;
use sqlx::PgExecutor;
use uuid::Uuid;

static TOKENS: LazyLock<Counter<u64>> = LazyLock::new(|| {
    telemetry::meter()
        .u64_counter("rentory.ai.tokens")
        .with_unit("{token}")
        .with_description("Model tokens used, by model, purpose (task) and direction")
        .build()
});

/// In millionths of a US dollar, the unit `ai.calls.cost_micro_usd` keeps (Gemini's price
/// list, `rentory_gemini::estimated_cost_micro_usd`).
static COST: LazyLock<Counter<u64>> = LazyLock::new(|| {
    telemetry::meter()
        .u64_counter("rentory.ai.cost")
        .with_unit("uUSD")
        .with_description("Estimated model cost in micro-USD, by model and purpose (task)")
        .build()
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Concierge,
    AnalyzePhotos,
    DraftLease,
    FaceMatch,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Concierge => "CONCIERGE",
            Self::AnalyzePhotos => "ANALYZE_PHOTOS",
            Self::DraftLease => "DRAFT_LEASE",
            Self::FaceMatch => "FACE_MATCH",
        }
    }
}

/// One model request.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub model: String,
    /// See the `outcome` column of `ai.calls`.
    pub outcome: &'static str,
    pub http_status: Option<u16>,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub latency: Duration,
    pub cost_micro_usd: i64,
}

impl CallRecord {
    /// An answer that cost nothing: offline, or from the cache.
    pub fn free(model: &str, outcome: &'static str, latency: Duration) -> Self {
        Self {
            model: model.to_owned(),
            outcome,
            http_status: None,
            tokens_in: 0,
            tokens_out: 0,
            latency,
            cost_micro_usd: 0,
        }
    }

    /// One HTTP attempt of the Gemini client.
    pub fn from_attempt(attempt: &rentory_gemini::Attempt) -> Self {
        let usage = attempt.usage.unwrap_or_default();
        Self {
            model: attempt.model.clone(),
            outcome: attempt.result.as_str(),
            http_status: attempt.http_status,
            tokens_in: usage.prompt_tokens,
            tokens_out: usage.output_tokens,
            latency: attempt.latency,
            cost_micro_usd: rentory_gemini::estimated_cost_micro_usd(&attempt.model, &usage)
                .unwrap_or(0),
        }
    }
}

/// Who asked, for which task.
#[derive(Debug, Clone, Copy)]
pub struct CallContext<'a> {
    pub call_id: Uuid,
    pub task: Task,
    pub user_id: Option<Uuid>,
    pub request_id: Option<&'a str>,
}

#[tracing::instrument(skip_all, fields(task = context.task.as_str(), rows = records.len()))]
pub async fn record(
    db: impl PgExecutor<'_>,
    context: CallContext<'_>,
    records: &[CallRecord],
) -> Result<(), sqlx::Error> {
    if records.is_empty() {
        return Ok(());
    }
    // Counted before the insert: the tokens are spent whether or not the log row commits.
    count(context.task, records);
    let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let models: Vec<String> = records.iter().map(|r| r.model.clone()).collect();
    let outcomes: Vec<String> = records.iter().map(|r| r.outcome.to_owned()).collect();
    let statuses: Vec<Option<i16>> = records
        .iter()
        .map(|r| r.http_status.and_then(|s| i16::try_from(s).ok()))
        .collect();
    let tokens_in: Vec<i64> = records.iter().map(|r| clamp(r.tokens_in)).collect();
    let tokens_out: Vec<i64> = records.iter().map(|r| clamp(r.tokens_out)).collect();
    let latency_ms: Vec<i32> = records
        .iter()
        .map(|r| i32::try_from(r.latency.as_millis()).unwrap_or(i32::MAX))
        .collect();
    let costs: Vec<i64> = records.iter().map(|r| r.cost_micro_usd.max(0)).collect();
    sqlx::query!(
        r#"INSERT INTO ai.calls
             (call_id, task, user_id, request_id, model, outcome, http_status,
              tokens_in, tokens_out, latency_ms, cost_micro_usd)
           SELECT $1, $2, $3, $4, r.model, r.outcome, r.http_status,
                  r.tokens_in, r.tokens_out, r.latency_ms, r.cost
           FROM UNNEST($5::text[], $6::text[], $7::smallint[], $8::bigint[], $9::bigint[],
                       $10::integer[], $11::bigint[])
             AS r(model, outcome, http_status, tokens_in, tokens_out, latency_ms, cost)"#,
        context.call_id,
        context.task.as_str(),
        context.user_id,
        context.request_id,
        &models,
        &outcomes,
        &statuses as &[Option<i16>],
        &tokens_in,
        &tokens_out,
        &latency_ms,
        &costs
    )
    .execute(db)
    .await?;
    Ok(())
}

fn count(task: Task, records: &[CallRecord]) {
    if !telemetry::metrics_enabled() {
        return;
    }
    let purpose = KeyValue::new("purpose", task.as_str());
    for record in records {
        let model = KeyValue::new("model", record.model.clone());
        let directions = [("input", record.tokens_in), ("output", record.tokens_out)];
        for (direction, tokens) in directions {
            if tokens > 0 {
                TOKENS.add(
                    tokens,
                    &[
                        model.clone(),
                        purpose.clone(),
                        KeyValue::new("direction", direction),
                    ],
                );
            }
        }
        if let Ok(cost) = u64::try_from(record.cost_micro_usd)
            && cost > 0
        {
            COST.add(cost, &[model, purpose.clone()]);
        }
    }
}
