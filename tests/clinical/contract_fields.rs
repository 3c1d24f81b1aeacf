//! The triage request's member names as the contract (section 4.1) gives them, written out here
//! rather than taken from the parser, so the tests hold the parser to the contract. Shared by the
//! test modules that generate requests (`properties`, `request_parse`).

/// Every top-level field, in the contract's order.
pub const REQUEST_FIELDS: [&str; 24] = [
    "region",
    "procedure",
    "percent_relief",
    "relief_duration",
    "relief_ongoing",
    "radicular_symptoms",
    "block_number",
    "previous_block",
    "anesthetic",
    "guidance",
    "red_flags",
    "pain_duration_months",
    "conservative_care_weeks",
    "recent_imaging",
    "rfa_contraindicated",
    "psychosocial_risk",
    "spinal_instability",
    "sacroiliac_signs",
    "time_since_procedure",
    "procedure_history",
    "myofascial_trigger_points",
    "modic_changes",
    "profile",
    "pathway",
];
