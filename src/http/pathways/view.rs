//! The bodies of `GET /v1/pathways` and `GET /v1/pathways/{id}`: read-only views of a compiled
//! pathway for reviewers, a one-line summary and the full document (options catalogue, sources,
//! profiles with their parameter values, nodes, and every entry whose source is not fully
//! verified). They borrow the pathway, so building one copies little; the pathway itself knows
//! nothing of them.

use crate::pathway::{
    Code, Evidence, Node, OptionDef, ParameterValue, Pathway, ProvenanceFlag, Route, Source,
};
use crate::vocab::{Category, Region};
use serde::Serialize;
use utoipa::ToSchema;

/// A loaded pathway in one line of the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PathwaySummary<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// Semantic version of the pathway file.
    pub version: &'a str,
    /// `sha256:` of the pathway file.
    pub digest: &'a str,
    pub regions: &'a [Region],
    pub profiles: Vec<ProfileSummary<'a>>,
    /// The profile a request gets when it names none.
    pub default_profile: &'a str,
}

/// A criteria profile a request may choose.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileSummary<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// Short name used in generated text.
    pub label: &'a str,
}

/// A pathway in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct PathwayDocument<'a> {
    #[serde(flatten)]
    pub summary: PathwaySummary<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub disclaimer: &'a str,
    /// Evidence strengths, strongest first; ranking breaks ties with it.
    pub strength_scale: &'a [String],
    pub sources: &'a [Source],
    /// Every profile with the value each parameter takes under it, per region.
    pub profiles: Vec<ProfileDocument<'a>>,
    /// The options catalogue.
    pub options: Vec<OptionDocument<'a>>,
    /// The node the walk starts at.
    pub start: &'a str,
    /// The decision graph's nodes, in file order.
    pub nodes: Vec<NodeDocument<'a>>,
    /// Every parameter value or evidence entry whose source is unverified, secondary or extrapolated
    /// from another region.
    pub provenance_flags: Vec<ProvenanceFlag>,
}

/// One profile with its parameter values.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileDocument<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub label: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub parameters: Vec<ProfileParameter<'a>>,
}

/// A parameter's values under one profile, each with its source and verification status.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileParameter<'a> {
    pub id: &'a str,
    /// `percent`, `count`, `duration`, `boolean`...
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: &'a str,
    pub values: Vec<&'a ParameterValue>,
}

/// An entry of the options catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptionDocument<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub category: Category,
    /// Higher is more invasive.
    pub invasiveness: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    /// Ids of the criteria reported with the option.
    pub criteria: Vec<&'a str>,
    /// The regions the option serves, with its evidence and codes there.
    pub regions: Vec<OptionRegion<'a>>,
}

/// An option in one region.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptionRegion<'a> {
    pub region: Region,
    pub evidence: &'a [Evidence],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub codes: &'a [Code],
    /// Source ids.
    pub citations: Vec<&'a str>,
}

/// A node of the decision graph: what it contributes and where it leads.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodeDocument<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// The contract rules the node implements.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub rules: &'a [String],
    /// Option ids the node may offer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub offers: Vec<&'a str>,
    /// Option ids the node may advise against.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub avoids: Vec<&'a str>,
    /// Alert codes the node may raise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<&'a str>,
    /// Where the walk goes next: in branch order, the last one taken when no other holds.
    pub next: Vec<Edge<'a>>,
}

/// An edge of the graph.
#[derive(Debug, Serialize, ToSchema)]
pub struct Edge<'a> {
    pub to: &'a str,
    /// The branch's condition in words; `otherwise` for a decision's default; absent for a plain
    /// `next`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<&'a str>,
}

impl<'a> PathwaySummary<'a> {
    pub fn of(pathway: &'a Pathway) -> PathwaySummary<'a> {
        PathwaySummary {
            id: &pathway.id,
            title: &pathway.title,
            version: &pathway.version,
            digest: &pathway.digest,
            regions: &pathway.regions,
            profiles: pathway
                .profiles
                .iter()
                .map(|profile| ProfileSummary {
                    id: &profile.id,
                    title: &profile.title,
                    label: &profile.label,
                })
                .collect(),
            default_profile: &pathway.profiles[pathway.default_profile].id,
        }
    }
}

impl<'a> PathwayDocument<'a> {
    pub fn of(pathway: &'a Pathway) -> PathwayDocument<'a> {
        PathwayDocument {
            summary: PathwaySummary::of(pathway),
            description: pathway.description.as_deref(),
            disclaimer: &pathway.disclaimer,
            strength_scale: &pathway.strength_scale,
            sources: &pathway.sources,
            profiles: pathway
                .profiles
                .iter()
                .map(|profile| ProfileDocument {
                    id: &profile.id,
                    title: &profile.title,
                    label: &profile.label,
                    description: profile.description.as_deref(),
                    parameters: pathway
                        .parameters
                        .iter()
                        .map(|parameter| ProfileParameter {
                            id: &parameter.id,
                            kind: parameter.kind.name(),
                            description: &parameter.description,
                            values: parameter
                                .values
                                .iter()
                                .filter(|value| {
                                    value.profiles.is_empty()
                                        || value.profiles.contains(&profile.id)
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
            options: (pathway.options.iter())
                .map(|option| OptionDocument::of(pathway, option))
                .collect(),
            start: &pathway.nodes[pathway.start].id,
            nodes: (pathway.nodes.iter())
                .map(|node| NodeDocument::of(pathway, node))
                .collect(),
            provenance_flags: pathway.provenance_flags(),
        }
    }
}

impl<'a> OptionDocument<'a> {
    fn of(pathway: &'a Pathway, option: &'a OptionDef) -> OptionDocument<'a> {
        OptionDocument {
            id: &option.id,
            title: &option.title,
            category: option.category,
            invasiveness: option.invasiveness,
            description: option.description.as_deref(),
            criteria: option
                .criteria
                .iter()
                .map(|criterion| pathway.criteria[*criterion].id.as_str())
                .collect(),
            regions: pathway
                .regions
                .iter()
                .enumerate()
                .filter(|(slot, _)| option.serves[*slot])
                .map(|(slot, region)| OptionRegion {
                    region: *region,
                    evidence: &option.evidence[slot],
                    codes: &option.codes[slot],
                    citations: option.citations[slot]
                        .iter()
                        .map(|source| pathway.sources[*source].id.as_str())
                        .collect(),
                })
                .collect(),
        }
    }
}

impl<'a> NodeDocument<'a> {
    fn of(pathway: &'a Pathway, node: &'a Node) -> NodeDocument<'a> {
        let node_id = |index: usize| pathway.nodes[index].id.as_str();
        let next = match &node.route {
            Route::End => Vec::new(),
            Route::Next(to) => vec![Edge {
                to: node_id(*to),
                when: None,
            }],
            Route::Decide {
                branches,
                otherwise,
            } => branches
                .iter()
                .map(|branch| Edge {
                    to: node_id(branch.to),
                    when: Some(branch.label.as_str()),
                })
                .chain(std::iter::once(Edge {
                    to: node_id(*otherwise),
                    when: Some("otherwise"),
                }))
                .collect(),
        };
        NodeDocument {
            id: &node.id,
            title: &node.title,
            rules: &node.rules,
            offers: node
                .offers
                .iter()
                .map(|offer| pathway.options[offer.option].id.as_str())
                .collect(),
            avoids: node
                .avoids
                .iter()
                .map(|avoid| pathway.options[avoid.option].id.as_str())
                .collect(),
            alerts: node
                .alerts
                .iter()
                .map(|alert| pathway.alerts[*alert].code.as_str())
                .collect(),
            next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PathwayDocument;
    use crate::pathway::PathwaySet;

    #[test]
    fn the_document_lists_every_part_of_the_pathway() {
        let set = PathwaySet::embedded().unwrap();
        let pathway = set.default_pathway();
        let document = serde_json::to_value(PathwayDocument::of(pathway)).unwrap();
        assert_eq!(document["id"], pathway.id.as_str());
        assert_eq!(
            document["options"].as_array().unwrap().len(),
            pathway.options.len()
        );
        assert_eq!(
            document["nodes"].as_array().unwrap().len(),
            pathway.nodes.len()
        );
        assert_eq!(
            document["sources"].as_array().unwrap().len(),
            pathway.sources.len()
        );
        assert_eq!(
            document["provenance_flags"].as_array().unwrap().len(),
            pathway.provenance_flags().len()
        );
        for profile in document["profiles"].as_array().unwrap() {
            assert_eq!(
                profile["parameters"].as_array().unwrap().len(),
                pathway.parameters.len()
            );
            for parameter in profile["parameters"].as_array().unwrap() {
                for value in parameter["values"].as_array().unwrap() {
                    let profiles = value["profiles"].as_array().unwrap();
                    assert!(profiles.is_empty() || profiles.contains(&profile["id"]));
                }
            }
        }
        // Every edge leads to a node of the document.
        let ids: Vec<&str> = pathway.nodes.iter().map(|node| node.id.as_str()).collect();
        for node in document["nodes"].as_array().unwrap() {
            for edge in node["next"].as_array().unwrap() {
                assert!(ids.contains(&edge["to"].as_str().unwrap()));
            }
        }
    }
}
