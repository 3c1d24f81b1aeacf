//! The fixed vocabulary of the triage API: the enumerations a request or a response may carry.
//!
//! These are API words (contract section 4), not clinical facts: which option follows which answer is
//! the pathway file's business. Each enumeration knows its wire name and a plain-language label used
//! when a rationale template names a patient's fact.

/// Declares a closed API enumeration with its wire names and plain-language labels.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:tt => $label:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order (the order of `index`).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every wire name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($wire),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// The plain-language label used in generated text.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses a wire name.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($wire => Some($name::$variant),)+ _ => None }
            }

            /// Position in `ALL`.
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

api_enum! {
    /// Spinal region treated.
    Region {
        Lumbar = "lumbar" => "lumbar",
        Cervical = "cervical" => "cervical",
        Thoracic = "thoracic" => "thoracic",
    }
}

api_enum! {
    /// The intervention whose response is reported.
    Procedure {
        IntraArticularInjection = "intra_articular_injection" => "intra-articular injection",
        MedialBranchBlock = "medial_branch_block" => "medial branch block",
        RadiofrequencyAblation = "radiofrequency_ablation" => "radiofrequency ablation",
    }
}

api_enum! {
    /// Local anesthetic used for a block.
    Anesthetic {
        Lidocaine = "lidocaine" => "lidocaine",
        Bupivacaine = "bupivacaine" => "bupivacaine",
        Ropivacaine = "ropivacaine" => "ropivacaine",
        Other = "other" => "another anesthetic",
    }
}

api_enum! {
    /// Image guidance used for the procedure.
    Guidance {
        Fluoroscopy = "fluoroscopy" => "fluoroscopic guidance",
        Ct = "ct" => "CT guidance",
        Ultrasound = "ultrasound" => "ultrasound guidance",
        None = "none" => "no image guidance",
    }
}

api_enum! {
    /// A red flag that calls for urgent evaluation.
    RedFlag {
        CaudaEquina = "cauda_equina" => "suspected cauda equina syndrome",
        ProgressiveNeurologicalDeficit = "progressive_neurological_deficit" => "a progressive neurological deficit",
        Myelopathy = "myelopathy" => "signs of myelopathy",
        SuspectedInfection = "suspected_infection" => "suspected infection",
        SuspectedMalignancy = "suspected_malignancy" => "suspected malignancy",
        SuspectedFracture = "suspected_fracture" => "suspected fracture",
    }
}

api_enum! {
    /// Modic changes at L3 to S1 on MRI (lumbar only).
    ModicChanges {
        None = "none" => "no Modic changes",
        Type1 = "type_1" => "Modic type 1 changes",
        Type2 = "type_2" => "Modic type 2 changes",
    }
}

api_enum! {
    /// UCUM duration units accepted in `relief_duration`.
    DurationUnit {
        Minute = "min" => "minute",
        Hour = "h" => "hour",
        Day = "d" => "day",
        Week = "wk" => "week",
        Month = "mo" => "month",
    }
}

impl DurationUnit {
    /// Length of one unit in seconds; `mo` is the UCUM mean month of 30.4375 days.
    pub fn seconds(self) -> f64 {
        match self {
            DurationUnit::Minute => 60.0,
            DurationUnit::Hour => 3_600.0,
            DurationUnit::Day => 86_400.0,
            DurationUnit::Week => 604_800.0,
            DurationUnit::Month => 2_629_800.0,
        }
    }
}

api_enum! {
    /// How the patient responded to the reported intervention.
    ResponseLevel {
        Positive = "positive" => "positive",
        Partial = "partial" => "partial",
        Negative = "negative" => "negative",
    }
}

api_enum! {
    /// Alert severity, most severe first.
    Severity {
        Critical = "critical" => "critical",
        Warning = "warning" => "warning",
        Info = "info" => "info",
    }
}

api_enum! {
    /// Kind of next option.
    Category {
        Referral = "referral" => "referral",
        Diagnostic = "diagnostic" => "diagnostic",
        Interventional = "interventional" => "interventional",
        Conservative = "conservative" => "conservative",
        Surgical = "surgical" => "surgical",
    }
}

api_enum! {
    /// Status of a guideline or coverage criterion for this patient.
    CriterionStatus {
        Met = "met" => "met",
        Unmet = "unmet" => "unmet",
        Unknown = "unknown" => "unknown",
    }
}

api_enum! {
    /// Whether an evidence entry supports an option or recommends against it.
    Direction {
        For = "for" => "for",
        Against = "against" => "against",
    }
}

api_enum! {
    /// How a pathway entry's source was checked (the reference's `[V]`/`[S]`/`[U]` tags).
    Verification {
        Verified = "verified" => "verified",
        Secondary = "secondary" => "secondary",
        Unverified = "unverified" => "unverified",
    }
}

/// A duration with its UCUM unit (`mo` is the mean month, 30.4375 days).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RequestDuration)]
pub struct Duration {
    // At least 0; at most 100 years in all (checked with the request).
    #[schema(minimum = 0)]
    pub value: f64,
    pub unit: DurationUnit,
}

impl Duration {
    /// The duration in seconds, the unit every comparison uses.
    pub fn seconds(self) -> f64 {
        self.value * self.unit.seconds()
    }
}

impl Duration {
    /// Writes the duration for a reader ("2 weeks", "1 hour"); plain string writes, as rendering
    /// answers calls it for every duration it names.
    pub fn write(self, out: &mut impl std::fmt::Write) -> std::fmt::Result {
        write_number(out, self.value)?;
        out.write_char(' ')?;
        out.write_str(self.unit.label())?;
        if self.value != 1.0 {
            out.write_char('s')?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Duration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.write(f)
    }
}

/// Writes a number the way a clinician would read it: no trailing `.0`, at most two decimals.
pub fn write_number(out: &mut impl std::fmt::Write, value: f64) -> std::fmt::Result {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        if rounded < 0.0 {
            out.write_char('-')?;
        }
        let mut buffer = [0; 20];
        let digits = crate::escape::decimal(rounded.abs() as u64, &mut buffer);
        out.write_str(std::str::from_utf8(digits).unwrap_or_default())
    } else {
        let text = format!("{rounded:.2}");
        out.write_str(text.trim_end_matches('0').trim_end_matches('.'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for region in Region::ALL {
            assert_eq!(Region::parse(region.as_str()), Some(*region));
        }
        assert_eq!(Procedure::parse("facet_rhizotomy"), None);
        assert_eq!(Guidance::NAMES, ["fluoroscopy", "ct", "ultrasound", "none"]);
    }

    #[test]
    fn durations_convert_to_seconds_with_the_ucum_month() {
        let month = Duration {
            value: 1.0,
            unit: DurationUnit::Month,
        };
        assert_eq!(month.seconds(), 30.4375 * 86_400.0);
        let weeks = Duration {
            value: 12.0,
            unit: DurationUnit::Week,
        };
        let days = Duration {
            value: 84.0,
            unit: DurationUnit::Day,
        };
        assert_eq!(weeks.seconds(), days.seconds());
    }

    #[test]
    fn numbers_and_durations_read_naturally() {
        let mut text = String::new();
        write_number(&mut text, 60.0).unwrap();
        text.push(' ');
        write_number(&mut text, 79.9).unwrap();
        text.push(' ');
        write_number(&mut text, 0.125).unwrap();
        assert_eq!(text, "60 79.9 0.13");
        assert_eq!(
            Duration {
                value: 1.0,
                unit: DurationUnit::Week
            }
            .to_string(),
            "1 week"
        );
        assert_eq!(
            Duration {
                value: 2.5,
                unit: DurationUnit::Hour
            }
            .to_string(),
            "2.5 hours"
        );
    }
}
