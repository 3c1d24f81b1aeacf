// Every field of a triage request (contract 4.1), as data the case form is built from. Adding a
// field to the API means adding one entry here. The service, not this table, decides what is
// valid: the form sends what the user filled in and shows the service's errors beside the fields.

const PROCEDURES = ["intra_articular_injection", "medial_branch_block", "radiofrequency_ablation"];
const UNITS = ["min", "h", "d", "wk", "mo"];
const UNIT_LABELS = { min: "minutes", h: "hours", d: "days", wk: "weeks", mo: "months" };

/** A duration `{ value, unit }` (UCUM units). */
const duration = (name, label, extra = {}) => ({
  name,
  label,
  type: "object",
  kind: "duration",
  fields: [
    { name: "value", label: "Amount", type: "number", min: 0 },
    { name: "unit", label: "Unit", type: "enum", values: UNITS, labels: UNIT_LABELS },
  ],
  ...extra,
});

const yesNo = (name, label, extra = {}) => ({ name, label, type: "boolean", ...extra });

/** Groups of fields, in the order the form shows them. */
export const GROUPS = [
  {
    title: "Procedure and response",
    fields: [
      { name: "region", label: "Spinal region", type: "enum", values: ["lumbar", "cervical", "thoracic"], required: true },
      { name: "procedure", label: "Procedure whose response is reported", type: "enum", values: PROCEDURES, required: true },
      { name: "percent_relief", label: "Peak relief of the index pain (%)", type: "number", min: 0, max: 100, required: true },
      duration("relief_duration", "How long that relief lasted", { required: true }),
      yesNo("relief_ongoing", "Relief still ongoing (the duration is the time so far)"),
      duration("time_since_procedure", "Time from the procedure to this assessment"),
      { name: "anesthetic", label: "Local anesthetic", type: "enum", values: ["lidocaine", "bupivacaine", "ropivacaine", "other"] },
      { name: "guidance", label: "Image guidance", type: "enum", values: ["fluoroscopy", "ct", "ultrasound", "none"], labels: { ct: "CT" } },
    ],
  },
  {
    title: "Medial branch blocks",
    fields: [
      { name: "block_number", label: "Block number (2 = confirmatory block)", type: "enum", values: [1, 2] },
      {
        name: "previous_block",
        label: "First block (when this is block 2)",
        type: "object",
        fields: [
          { name: "percent_relief", label: "Peak relief (%)", type: "number", min: 0, max: 100 },
          duration("relief_duration", "How long that relief lasted"),
          { name: "anesthetic", label: "Local anesthetic", type: "enum", values: ["lidocaine", "bupivacaine", "ropivacaine", "other"] },
        ],
      },
    ],
  },
  {
    title: "History and findings",
    fields: [
      yesNo("radicular_symptoms", "Radicular symptoms or deficit", { required: true }),
      {
        name: "red_flags",
        label: "Red flags",
        type: "set",
        values: ["cauda_equina", "progressive_neurological_deficit", "myelopathy", "suspected_infection", "suspected_malignancy", "suspected_fracture"],
      },
      { name: "pain_duration_months", label: "Pain duration (months)", type: "number", min: 0 },
      { name: "conservative_care_weeks", label: "Conservative care already tried (weeks)", type: "number", min: 0 },
      yesNo("recent_imaging", "MRI or CT of the region in the last 12 months, reviewed"),
      yesNo("rfa_contraindicated", "Radiofrequency ablation contraindicated"),
      yesNo("psychosocial_risk", "Psychosocial risk factors"),
      yesNo("spinal_instability", "Spinal instability or deformity"),
      yesNo("sacroiliac_signs", "Sacroiliac signs (lumbar only)"),
      yesNo("myofascial_trigger_points", "Myofascial trigger points on examination"),
      { name: "modic_changes", label: "Modic changes at L3 to S1 (lumbar only)", type: "enum", values: ["none", "type_1", "type_2"], labels: { type_1: "type 1", type_2: "type 2" } },
      {
        name: "procedure_history",
        label: "Earlier facet procedures in the same region",
        type: "list",
        max: 50,
        item: "Earlier procedure",
        fields: [
          { name: "procedure", label: "Procedure", type: "enum", values: PROCEDURES },
          duration("time_ago", "How long ago"),
        ],
      },
    ],
  },
];

/** Every top-level field name the form knows. */
export const FIELD_NAMES = GROUPS.flatMap((group) => group.fields.map((field) => field.name));
