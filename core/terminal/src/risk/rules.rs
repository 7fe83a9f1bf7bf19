//! The rule set: what the merchant's risk configuration says, as it comes
//! from JSON (the platform, a settings file) and as it is checked before
//! use. Every rule is optional; an absent rule limits nothing.

use std::fmt;

use poskit_store::Verdict;
use serde::{Deserialize, Serialize};

/// The most a UTC offset can be (UTC+14:00, Line Islands).
const MAX_OFFSET_MINUTES: i32 = 14 * 60;

/// The merchant's risk rules. `Default` limits nothing.
///
/// Days and hours are local: local time is UTC plus `utc_offset_minutes`
/// (480 for China Standard Time). Amounts are in minor units of the
/// terminal's currency. Each rule has its own verdict: `block` unless
/// said otherwise, `review` for unusual hours.
///
/// ```json
/// {
///   "utc_offset_minutes": 480,
///   "per_transaction_limit": { "max_amount": 500000 },
///   "daily_limit": { "max_amount": 5000000 },
///   "card_velocity": { "max_count": 3, "minutes": 10 },
///   "repeated_declines": { "max_count": 3, "minutes": 30 },
///   "blocked_bin": { "prefixes": ["622202", "45392"] },
///   "fallback_limit": { "max_count": 5 },
///   "manual_entry_limit": { "max_count": 0 },
///   "unusual_hours": { "from": "23:00", "to": "06:00" }
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskRules {
    /// Local time minus UTC, in minutes (-840 to 840).
    pub utc_offset_minutes: i32,
    /// One transaction may not be over `max_amount`.
    pub per_transaction_limit: Option<AmountLimit>,
    /// The day's sales (card and QR) may not go over `max_amount`.
    pub daily_limit: Option<AmountLimit>,
    /// A card may be used at most `max_count` times in `minutes`.
    pub card_velocity: Option<CardWindow>,
    /// A card declined `max_count` times in `minutes` is refused.
    pub repeated_declines: Option<CardWindow>,
    /// Cards whose number starts with one of these prefixes are refused.
    pub blocked_bin: Option<BinList>,
    /// At most `max_count` fallback (stripe after a chip failure)
    /// transactions a day.
    pub fallback_limit: Option<DailyCount>,
    /// At most `max_count` manually keyed transactions a day.
    pub manual_entry_limit: Option<DailyCount>,
    /// Transactions in this local time window are unusual.
    pub unusual_hours: Option<UnusualHours>,
}

fn block() -> Verdict {
    Verdict::Block
}

fn review() -> Verdict {
    Verdict::Review
}

/// An amount not to go over (equal is fine).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountLimit {
    /// In minor units.
    pub max_amount: u64,
    #[serde(default = "block")]
    pub verdict: Verdict,
}

/// At most `max_count` of something per card within the last `minutes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardWindow {
    pub max_count: u32,
    pub minutes: u32,
    #[serde(default = "block")]
    pub verdict: Verdict,
}

/// Card number prefixes (BINs or longer ranges) to refuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinList {
    /// 1 to 8 digits each: a BIN (issuer identification number) or a
    /// shorter range. Eight is as much of a card number as may be shown
    /// unmasked (PCI DSS 3.4.1), so the configuration never holds more.
    pub prefixes: Vec<String>,
    #[serde(default = "block")]
    pub verdict: Verdict,
}

/// At most `max_count` a local day; 0 forbids it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyCount {
    pub max_count: u32,
    #[serde(default = "block")]
    pub verdict: Verdict,
}

/// A local time window, `from` included, `to` not; it may wrap past
/// midnight ("22:00" to "06:00").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnusualHours {
    pub from: TimeOfDay,
    pub to: TimeOfDay,
    #[serde(default = "review")]
    pub verdict: Verdict,
}

impl UnusualHours {
    /// Whether `minute` (of the local day) is in the window.
    pub fn contains(&self, minute: u16) -> bool {
        let (from, to) = (self.from.0, self.to.0);
        if from <= to {
            (from..to).contains(&minute)
        } else {
            minute >= from || minute < to
        }
    }
}

/// A time of day, "HH:MM" in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    /// `hour` 0-23, `minute` 0-59.
    pub fn new(hour: u8, minute: u8) -> Option<Self> {
        (hour < 24 && minute < 60).then(|| TimeOfDay(u16::from(hour) * 60 + u16::from(minute)))
    }

    /// Minutes since local midnight.
    pub fn minute_of_day(self) -> u16 {
        self.0
    }
}

impl TryFrom<String> for TimeOfDay {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let parsed = text.split_once(':').and_then(|(h, m)| {
            let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
            if !two_digits(h) || !two_digits(m) {
                return None;
            }
            TimeOfDay::new(h.parse().ok()?, m.parse().ok()?)
        });
        parsed.ok_or_else(|| format!("a time of day is \"HH:MM\" (00:00 to 23:59), not {text:?}"))
    }
}

impl From<TimeOfDay> for String {
    fn from(t: TimeOfDay) -> String {
        t.to_string()
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl RiskRules {
    /// Checks the rules make sense; the message names the first that does
    /// not.
    pub fn validate(&self) -> Result<(), String> {
        if self.utc_offset_minutes.abs() > MAX_OFFSET_MINUTES {
            return Err(format!(
                "utc_offset_minutes {} is not a UTC offset (-840 to 840)",
                self.utc_offset_minutes
            ));
        }
        let verdicts = [
            (
                "per_transaction_limit",
                self.per_transaction_limit.as_ref().map(|r| r.verdict),
            ),
            ("daily_limit", self.daily_limit.as_ref().map(|r| r.verdict)),
            ("card_velocity", self.card_velocity.as_ref().map(|r| r.verdict)),
            (
                "repeated_declines",
                self.repeated_declines.as_ref().map(|r| r.verdict),
            ),
            ("blocked_bin", self.blocked_bin.as_ref().map(|r| r.verdict)),
            ("fallback_limit", self.fallback_limit.as_ref().map(|r| r.verdict)),
            (
                "manual_entry_limit",
                self.manual_entry_limit.as_ref().map(|r| r.verdict),
            ),
            ("unusual_hours", self.unusual_hours.as_ref().map(|r| r.verdict)),
        ];
        for (name, verdict) in verdicts {
            if verdict == Some(Verdict::Allow) {
                return Err(format!(
                    "{name}: a rule's verdict is review or block (leave the rule out to switch it off)"
                ));
            }
        }
        for (name, window) in [
            ("card_velocity", &self.card_velocity),
            ("repeated_declines", &self.repeated_declines),
        ] {
            if let Some(w) = window {
                if w.max_count == 0 {
                    return Err(format!("{name}: max_count must be at least 1"));
                }
                // A week is longer than any velocity window in use, and keeps
                // the arithmetic far from overflow.
                if w.minutes == 0 || w.minutes > 7 * 24 * 60 {
                    return Err(format!("{name}: minutes must be 1 to 10080 (a week)"));
                }
            }
        }
        if let Some(bins) = &self.blocked_bin {
            if bins.prefixes.is_empty() {
                return Err("blocked_bin: list at least one prefix".into());
            }
            for (i, p) in bins.prefixes.iter().enumerate() {
                if p.is_empty() || p.len() > 8 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    // The entry itself is not echoed: a long one may be a PAN.
                    return Err(format!("blocked_bin: prefix {} is not 1 to 8 digits", i + 1));
                }
            }
        }
        if let Some(hours) = &self.unusual_hours {
            if hours.from == hours.to {
                return Err("unusual_hours: from and to are the same time; the window is empty".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_with_defaults_for_verdicts() {
        let rules: RiskRules = serde_json::from_str(
            r#"{
                "utc_offset_minutes": 480,
                "per_transaction_limit": { "max_amount": 500000 },
                "card_velocity": { "max_count": 3, "minutes": 10, "verdict": "review" },
                "unusual_hours": { "from": "23:00", "to": "06:00" }
            }"#,
        )
        .unwrap();
        rules.validate().unwrap();
        assert_eq!(
            rules.per_transaction_limit.as_ref().unwrap().verdict,
            Verdict::Block
        );
        assert_eq!(rules.card_velocity.as_ref().unwrap().verdict, Verdict::Review);
        let hours = rules.unusual_hours.as_ref().unwrap();
        assert_eq!(
            (hours.from.minute_of_day(), hours.verdict),
            (23 * 60, Verdict::Review)
        );
        assert!(rules.daily_limit.is_none());
        let back: RiskRules = serde_json::from_str(&serde_json::to_string(&rules).unwrap()).unwrap();
        assert_eq!(back, rules);
        assert_eq!(
            serde_json::from_str::<RiskRules>("{}").unwrap(),
            RiskRules::default()
        );
    }

    #[test]
    fn malformed_json_is_refused_with_a_reason() {
        for (json, says) in [
            (r#"{"unusual_hours": {"from": "24:00", "to": "06:00"}}"#, "HH:MM"),
            (r#"{"unusual_hours": {"from": "9:00", "to": "06:00"}}"#, "HH:MM"),
            (
                r#"{"per_transaction_limit": {"max_amount": -1}}"#,
                "invalid value",
            ),
            (r#"{"per_transaction_limt": {"max_amount": 1}}"#, "unknown field"),
            (
                r#"{"daily_limit": {"max_amount": 1, "verdict": "maybe"}}"#,
                "unknown variant",
            ),
        ] {
            let err = serde_json::from_str::<RiskRules>(json).unwrap_err().to_string();
            assert!(err.contains(says), "{json}: {err}");
        }
    }

    #[test]
    fn rules_that_cannot_work_are_refused() {
        let window = |max_count, minutes| CardWindow {
            max_count,
            minutes,
            verdict: Verdict::Block,
        };
        let bins = |p: &str| BinList {
            prefixes: vec![p.into()],
            verdict: Verdict::Block,
        };
        let cases = [
            (
                RiskRules {
                    utc_offset_minutes: 841,
                    ..RiskRules::default()
                },
                "utc_offset",
            ),
            (
                RiskRules {
                    card_velocity: Some(window(0, 10)),
                    ..RiskRules::default()
                },
                "card_velocity: max_count",
            ),
            (
                RiskRules {
                    repeated_declines: Some(window(3, 0)),
                    ..RiskRules::default()
                },
                "repeated_declines: minutes",
            ),
            (
                RiskRules {
                    blocked_bin: Some(bins("62a2")),
                    ..RiskRules::default()
                },
                "prefix 1",
            ),
            (
                RiskRules {
                    blocked_bin: Some(bins("476173900")),
                    ..RiskRules::default()
                },
                "prefix 1",
            ),
            (
                RiskRules {
                    daily_limit: Some(AmountLimit {
                        max_amount: 1,
                        verdict: Verdict::Allow,
                    }),
                    ..RiskRules::default()
                },
                "daily_limit: a rule's verdict",
            ),
            (
                RiskRules {
                    unusual_hours: Some(UnusualHours {
                        from: TimeOfDay::new(6, 0).unwrap(),
                        to: TimeOfDay::new(6, 0).unwrap(),
                        verdict: Verdict::Review,
                    }),
                    ..RiskRules::default()
                },
                "the window is empty",
            ),
        ];
        for (rules, says) in cases {
            let err = rules.validate().unwrap_err();
            assert!(err.contains(says), "{err}");
            assert!(!err.contains("476173900"), "{err}");
        }
        RiskRules {
            utc_offset_minutes: -840,
            manual_entry_limit: Some(DailyCount {
                max_count: 0,
                verdict: Verdict::Block,
            }),
            ..RiskRules::default()
        }
        .validate()
        .unwrap();
    }

    #[test]
    fn hour_windows_include_from_exclude_to_and_may_wrap() {
        let hours = |f: (u8, u8), t: (u8, u8)| UnusualHours {
            from: TimeOfDay::new(f.0, f.1).unwrap(),
            to: TimeOfDay::new(t.0, t.1).unwrap(),
            verdict: Verdict::Review,
        };
        let night = hours((22, 0), (6, 0));
        for (minute, inside) in [
            (22 * 60 - 1, false),
            (22 * 60, true),
            (0, true),
            (359, true),
            (360, false),
        ] {
            assert_eq!(night.contains(minute), inside, "{minute}");
        }
        let lunch = hours((12, 0), (13, 30));
        for (minute, inside) in [(719, false), (720, true), (809, true), (810, false)] {
            assert_eq!(lunch.contains(minute), inside, "{minute}");
        }
        assert_eq!(TimeOfDay::new(7, 5).unwrap().to_string(), "07:05");
        assert!(TimeOfDay::new(23, 60).is_none());
    }
}
