//! The options catalogue: each option's category, codes, criteria and graded evidence per region.
//!
//! Evidence entries are checked and ordered here: per region, `for` entries first and `against`
//! entries after, each group in file order, so the lead entry (`evidence[0]`) supports the option and
//! sets its place among options of equal priority.
//!
//! Named `[groups]` of options are resolved here too.

use super::*;
use crate::vocab::Direction;

impl Compiler {
    pub(super) fn options_catalogue(
        &mut self,
        files: &[file::OptionFile],
        strength_scale: &[String],
        sources: &[Source],
        source_scales: &[Option<String>],
    ) -> Vec<OptionDef> {
        let regions = self.regions.len();
        let mut options = Vec::new();
        for option in files {
            let category = self.parse_word(
                &option.category,
                "category",
                Category::parse,
                Category::NAMES,
            );
            if *option.invasiveness.get_ref() > 5 {
                self.error(
                    option.invasiveness.span(),
                    "invasiveness must be from 0 (none) to 5 (open surgery)",
                );
            }
            let criteria_map = std::mem::take(&mut self.criteria);
            let criteria: Vec<usize> = option
                .criteria
                .iter()
                .filter_map(|name| self.lookup(&criteria_map, "criterion", name))
                .collect();
            self.criteria = criteria_map;
            let served = self.region_slots(&option.regions);
            let mut evidence: Vec<Vec<(usize, Evidence)>> = vec![Vec::new(); regions];
            for entry in &option.evidence {
                let span = entry.span();
                let entry = entry.get_ref();
                // Evidence without `regions` covers the regions the option serves.
                let slots = if entry.regions.is_some() {
                    self.region_slots(&entry.regions)
                } else {
                    served.clone()
                };
                let source = self.source(&entry.source);
                let verification = self.verification(&entry.verification);
                let strength = strength_scale
                    .iter()
                    .position(|s| s == entry.strength.get_ref());
                if strength.is_none() {
                    self.error(
                        entry.strength.span(),
                        format!(
                            "strength `{}` is not in the pathway's strength_scale",
                            entry.strength.get_ref()
                        ),
                    );
                }
                let direction = match &entry.direction {
                    Some(name) => {
                        self.parse_word(name, "direction", Direction::parse, Direction::NAMES)
                    }
                    None => Some(Direction::For),
                };
                let extrapolated_from = entry
                    .extrapolated_from
                    .as_ref()
                    .and_then(|name| self.parse_word(name, "region", Region::parse, Region::NAMES));
                let (Some(source), Some(verification), Some(strength), Some(direction)) =
                    (source, verification, strength, direction)
                else {
                    continue;
                };
                for slot in slots {
                    if !served.contains(&slot) {
                        self.error(
                            span.clone(),
                            format!(
                                "evidence for region `{}`, which option `{}` does not serve",
                                self.regions[slot],
                                option.id.get_ref()
                            ),
                        );
                        continue;
                    }
                    let display = entry.display.clone().unwrap_or_else(|| {
                        let prefix = source_scales[source]
                            .as_deref()
                            .map(|s| format!("{s} "))
                            .unwrap_or_default();
                        let against = match direction {
                            Direction::For => "",
                            Direction::Against => "Against: ",
                        };
                        let mut text = format!(
                            "{against}{prefix}{}, {} ({})",
                            entry.level,
                            entry.strength.get_ref(),
                            sources[source].label
                        );
                        if verification != Verification::Verified {
                            text.push_str(&format!(" [{verification}]"));
                        }
                        if let Some(from) = extrapolated_from {
                            text.push_str(&format!(" [extrapolated from {from}]"));
                        }
                        if entry.extrapolated {
                            text.push_str(" [extrapolated]");
                        }
                        text
                    });
                    evidence[slot].push((
                        strength,
                        Evidence {
                            source: entry.source.get_ref().clone(),
                            direction,
                            level: entry.level.clone(),
                            strength: entry.strength.get_ref().clone(),
                            display,
                            verification,
                            extrapolated_from,
                            extrapolated: entry.extrapolated,
                            note: entry.note.clone(),
                        },
                    ));
                }
            }
            // `for` entries first, each group in file order; the lead entry sets the rank.
            let mut ranks = vec![usize::MAX; regions];
            let evidence: Vec<Vec<Evidence>> = evidence
                .into_iter()
                .enumerate()
                .map(|(slot, mut entries)| {
                    entries.sort_by_key(|(_, entry)| entry.direction);
                    if let Some((strength, _)) = entries.first() {
                        ranks[slot] = *strength;
                    }
                    entries.into_iter().map(|(_, entry)| entry).collect()
                })
                .collect();
            let mut codes = vec![Vec::new(); regions];
            for code in &option.codes {
                for slot in self.region_slots(&code.regions) {
                    codes[slot].push(Code {
                        system: code.system.clone(),
                        code: code.code.clone(),
                        display: code.display.clone(),
                        add_on: code.add_on,
                    });
                }
            }
            options.push((option, category, criteria, served, evidence, ranks, codes));
        }
        // Evidence borrowed from another option, then the rule that every served region has evidence.
        let borrowed: Vec<Option<usize>> = files
            .iter()
            .map(|o| o.evidence_from.as_ref().and_then(|name| self.option(name)))
            .collect();
        let mut compiled = Vec::new();
        // Per option and region slot: position of `evidence[0].strength` in the strength scale.
        let mut strength_ranks = Vec::new();
        for (index, (option, category, criteria, served, mut evidence, mut ranks, codes)) in
            options.iter().cloned().enumerate()
        {
            if let Some(from) = borrowed[index] {
                if files[from].evidence_from.is_some() || from == index {
                    self.error(
                        option.id.span(),
                        "`evidence_from` must name an option with evidence of its own",
                    );
                } else if !option.evidence.is_empty() {
                    self.error(
                        option.id.span(),
                        "give either `evidence` or `evidence_from`, not both",
                    );
                } else {
                    evidence = options[from].4.clone();
                    ranks = options[from].5.clone();
                }
            }
            for &slot in &served {
                if evidence[slot].is_empty() {
                    self.error(
                        option.id.span(),
                        format!(
                            "option `{}` has no evidence for region `{}`, which it serves",
                            option.id.get_ref(),
                            self.regions[slot]
                        ),
                    );
                } else if evidence[slot][0].direction != Direction::For {
                    self.error(
                        option.id.span(),
                        format!(
                            "option `{}` has only `against` evidence for region `{}`; its lead entry must support it",
                            option.id.get_ref(),
                            self.regions[slot]
                        ),
                    );
                }
            }
            let citations = evidence
                .iter()
                .map(|entries| {
                    let mut ids: Vec<usize> = Vec::new();
                    for entry in entries {
                        let source = self.sources[&entry.source];
                        if !ids.contains(&source) {
                            ids.push(source);
                        }
                    }
                    ids
                })
                .collect();
            compiled.push(OptionDef {
                id: option.id.get_ref().clone(),
                title: option.title.clone(),
                category: category.unwrap_or(Category::Referral),
                invasiveness: *option.invasiveness.get_ref(),
                description: option.description.clone(),
                codes,
                criteria,
                serves: (0..self.regions.len())
                    .map(|slot| served.contains(&slot))
                    .collect(),
                evidence,
                citations,
                tie_order: vec![0; self.regions.len()],
            });
            strength_ranks.push(ranks);
        }
        let mut orders = vec![(0..compiled.len()).collect::<Vec<usize>>(); self.regions.len()];
        for (slot, order) in orders.iter_mut().enumerate() {
            order.sort_by(|&a, &b| {
                strength_ranks[a][slot]
                    .cmp(&strength_ranks[b][slot])
                    .then(compiled[a].invasiveness.cmp(&compiled[b].invasiveness))
                    .then(compiled[a].id.cmp(&compiled[b].id))
            });
            for (place, &option) in order.iter().enumerate() {
                compiled[option].tie_order[slot] = place;
            }
        }
        compiled
    }

    pub(super) fn groups(&mut self, groups: &Spanned<toml::Table>) {
        for (name, members) in groups.get_ref() {
            let span = groups.span();
            if self.options.contains_key(name) {
                self.error(
                    span.clone(),
                    format!("group `{name}` has the name of an option"),
                );
            }
            let Some(members) = members.as_array() else {
                self.error(span, format!("group `{name}` must be a list of option ids"));
                continue;
            };
            let mut indices = Vec::new();
            for member in members {
                match member.as_str().and_then(|id| self.options.get(id)) {
                    Some(index) => indices.push(*index),
                    None => self.error(
                        span.clone(),
                        format!("group `{name}` names an unknown option"),
                    ),
                }
            }
            self.groups.insert(name.clone(), indices);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pathway::compile;
    use crate::vocab::Direction;

    /// A one-option pathway whose option has the given `codes` and `evidence` lines.
    fn mini(codes: &str, evidence: &str) -> String {
        format!(
            r#"[pathway]
id = "mini"
title = "Mini"
version = "1.0.0"
regions = ["lumbar", "cervical"]
default_profile = "p"
start = "first"
strength_scale = ["strong", "weak"]
disclaimer = "Test only."

[[sources]]
id = "a"
title = "A"
year = 2020
url = "https://example.org/a"
label = "A 2020"
scale = "Level"

[[sources]]
id = "b"
title = "B"
year = 2025
url = "https://example.org/b"
label = "B 2025"

[[profiles]]
id = "p"
title = "Profile"
label = "P"

[[options]]
id = "opt"
title = "Option"
category = "interventional"
invasiveness = 2
{codes}
evidence = [
{evidence}
]

[[assessment]]
response = "positive"
summary = "Done."

[[nodes]]
id = "first"
title = "First"
avoid = [{{ option = "opt", reason = "Not here.", citations = ["b"] }}]
"#
        )
    }

    #[test]
    fn against_entries_follow_the_for_entries_and_say_so() {
        let text = mini(
            "",
            r#"  { source = "b", direction = "against", level = "recommendation", strength = "strong", verification = "verified" },
  { source = "a", level = "II", strength = "weak", verification = "verified" },
  { source = "b", regions = ["cervical"], direction = "against", level = "recommendation", strength = "strong", verification = "verified", extrapolated = true },
  { source = "a", direction = "for", level = "III", strength = "strong", verification = "secondary" },"#,
        );
        let pathway = compile("t.toml", &text).unwrap();
        let option = &pathway.options[0];
        let lumbar: Vec<(&str, Direction, &str)> = option.evidence[0]
            .iter()
            .map(|e| (e.source.as_str(), e.direction, e.display.as_str()))
            .collect();
        assert_eq!(
            lumbar,
            [
                ("a", Direction::For, "Level II, weak (A 2020)"),
                (
                    "a",
                    Direction::For,
                    "Level III, strong (A 2020) [secondary]"
                ),
                (
                    "b",
                    Direction::Against,
                    "Against: recommendation, strong (B 2025)"
                ),
            ]
        );
        let cervical = &option.evidence[1];
        assert_eq!(cervical.len(), 4);
        assert_eq!(
            cervical[3].display,
            "Against: recommendation, strong (B 2025) [extrapolated]"
        );
        assert!(cervical[3].extrapolated);
        // The lead entry ranks the option: `weak`, the first `for` entry, not the `against` one.
        let json = serde_json::to_string(&option.evidence[0]).unwrap();
        assert!(
            json.starts_with(r#"[{"source":"a","direction":"for","level":"II""#),
            "{json}"
        );
        assert!(!json.contains("extrapolated\":false"), "{json}");
        // An avoid shows the `against` entries of the sources it cites.
        let avoid = &pathway.nodes[0].avoids[0];
        let shown: Vec<&str> = pathway
            .avoid_evidence(avoid, 1)
            .map(|e| e.display.as_str())
            .collect();
        assert_eq!(
            shown,
            [
                "Against: recommendation, strong (B 2025)",
                "Against: recommendation, strong (B 2025) [extrapolated]"
            ]
        );
        let flagged = pathway.provenance_flags();
        assert_eq!(flagged.len(), 3, "{flagged:?}");
        assert!(flagged.iter().any(|flag| flag.extrapolated));
    }

    #[test]
    fn codes_keep_their_regions_and_add_on_marks() {
        let text = mini(
            r#"codes = [
  { system = "s", code = "1", display = "First level", regions = ["lumbar"] },
  { system = "s", code = "2", display = "Each further level", regions = ["lumbar"], add_on = true },
  { system = "s", code = "3", regions = ["cervical"] },
]"#,
            r#"  { source = "a", level = "II", strength = "weak", verification = "verified" },"#,
        );
        let pathway = compile("t.toml", &text).unwrap();
        let option = &pathway.options[0];
        assert_eq!(
            serde_json::to_string(&option.codes[0]).unwrap(),
            r#"[{"system":"s","code":"1","display":"First level"},{"system":"s","code":"2","display":"Each further level","add_on":true}]"#
        );
        assert_eq!(
            serde_json::to_string(&option.codes[1]).unwrap(),
            r#"[{"system":"s","code":"3"}]"#
        );
    }

    #[test]
    fn an_option_needs_supporting_evidence_and_known_directions() {
        let text = mini(
            "",
            r#"  { source = "a", level = "II", strength = "weak", verification = "verified", regions = ["lumbar"] },
  { source = "b", direction = "against", level = "recommendation", strength = "strong", verification = "verified", regions = ["cervical"] },
  { source = "b", direction = "neutral", level = "x", strength = "strong", verification = "verified" },"#,
        );
        let errors: Vec<String> = compile("t.toml", &text)
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].ends_with(
                "option `opt` has only `against` evidence for region `cervical`; its lead entry must support it"
            ),
            "{errors:?}"
        );
        assert!(
            errors[1].ends_with("unknown direction `neutral`; expected one of for, against"),
            "{errors:?}"
        );
    }
}
