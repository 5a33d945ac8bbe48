use crate::types::{Usage, bare_model_id};

/// USD per 1M tokens, in hundredths of a dollar so the table stays integral.
struct Price {
    input: u64,
    output: u64,
}

struct ModelPrice {
    model: &'static str,
    base: Price,
    /// Rates once the prompt exceeds [`LONG_PROMPT_TOKENS`], for models priced in tiers.
    long_prompt: Option<Price>,
}

const LONG_PROMPT_TOKENS: u64 = 200_000;

/// From Google's Gemini API pricing page as of 2026 (paid tier, standard requests). It is an
/// estimate for dashboards and budgets: context caching, batch discounts and price changes
/// are not reflected, and Google's invoice is the authority.
const PRICES: &[ModelPrice] = &[
    ModelPrice {
        model: "gemini-3-flash-preview",
        base: Price {
            input: 50,
            output: 300,
        },
        long_prompt: None,
    },
    ModelPrice {
        model: "gemini-3.1-pro-preview",
        base: Price {
            input: 200,
            output: 1200,
        },
        long_prompt: Some(Price {
            input: 400,
            output: 1800,
        }),
    },
    ModelPrice {
        model: "gemini-3-pro-preview",
        base: Price {
            input: 200,
            output: 1200,
        },
        long_prompt: Some(Price {
            input: 400,
            output: 1800,
        }),
    },
    ModelPrice {
        model: "gemini-2.5-flash",
        base: Price {
            input: 30,
            output: 250,
        },
        long_prompt: None,
    },
    ModelPrice {
        model: "gemini-2.5-pro",
        base: Price {
            input: 125,
            output: 1000,
        },
        long_prompt: Some(Price {
            input: 250,
            output: 1500,
        }),
    },
    ModelPrice {
        model: "gemini-2.5-flash-lite",
        base: Price {
            input: 10,
            output: 40,
        },
        long_prompt: None,
    },
];

/// Estimated cost in micro-USD (rounded to nearest); thoughts are billed as output, which
/// `Usage::output_tokens` already includes. `None` for a model not in the table.
pub fn estimated_cost_micro_usd(model: &str, usage: &Usage) -> Option<i64> {
    let id = bare_model_id(model);
    let entry = PRICES.iter().find(|p| p.model == id)?;
    let price = match &entry.long_prompt {
        Some(long) if usage.prompt_tokens > LONG_PROMPT_TOKENS => long,
        _ => &entry.base,
    };
    // USD per 1M tokens is numerically micro-USD per token; the table is in hundredths.
    let hundredths = u128::from(usage.prompt_tokens) * u128::from(price.input)
        + u128::from(usage.output_tokens) * u128::from(price.output);
    let micro = (hundredths + 50) / 100;
    Some(i64::try_from(micro).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn usage(prompt: u64, output: u64) -> Usage {
        Usage {
            prompt_tokens: prompt,
            output_tokens: output,
            thoughts_tokens: 0,
        }
    }

    #[test]
    fn flash_prices() {
        // 1M in at $0.50 + 1M out at $3.00.
        assert_eq!(
            estimated_cost_micro_usd("gemini-3-flash-preview", &usage(1_000_000, 1_000_000)),
            Some(3_500_000)
        );
        // 1000 in = 500 micro-USD, 100 out = 300 micro-USD.
        assert_eq!(
            estimated_cost_micro_usd("models/gemini-3-flash-preview", &usage(1000, 100)),
            Some(800)
        );
    }

    #[test]
    fn thoughts_are_billed_through_output_tokens() {
        let with_thoughts = Usage {
            prompt_tokens: 0,
            output_tokens: 1000,
            thoughts_tokens: 900,
        };
        // 1000 output tokens at $2.50 per 1M, thoughts not counted twice.
        assert_eq!(
            estimated_cost_micro_usd("gemini-2.5-flash", &with_thoughts),
            Some(2500)
        );
    }

    #[test]
    fn pro_switches_tier_above_200k_prompt_tokens() {
        assert_eq!(
            estimated_cost_micro_usd("gemini-3.1-pro-preview", &usage(200_000, 1000)),
            Some(200_000 * 2 + 1000 * 12)
        );
        assert_eq!(
            estimated_cost_micro_usd("gemini-3-pro-preview", &usage(200_001, 1000)),
            Some(200_001 * 4 + 1000 * 18)
        );
        assert_eq!(
            estimated_cost_micro_usd("gemini-2.5-pro", &usage(300_000, 2000)),
            Some(300_000 * 5 / 2 + 2000 * 15)
        );
        assert_eq!(
            estimated_cost_micro_usd("gemini-2.5-pro", &usage(1000, 2000)),
            Some(1250 + 20_000)
        );
    }

    #[test]
    fn lite_rounds_to_nearest_micro_usd() {
        // 5 * 0.10 = 0.5 -> 1; 1 * 0.40 = 0.4 -> total 0.9 -> 1.
        assert_eq!(
            estimated_cost_micro_usd("gemini-2.5-flash-lite", &usage(5, 1)),
            Some(1)
        );
        assert_eq!(
            estimated_cost_micro_usd("gemini-2.5-flash-lite", &usage(0, 0)),
            Some(0)
        );
    }

    #[test]
    fn unknown_models_have_no_estimate() {
        assert_eq!(
            estimated_cost_micro_usd("gemini-2.5-flash-preview-09-2025", &usage(1, 1)),
            None
        );
        assert_eq!(estimated_cost_micro_usd("", &usage(1, 1)), None);
    }
}
