//! French: "vous", typographic spaces before `:` `;` `?` `!` (written as plain spaces here and
//! made no-break by [`french_spacing`]).

use super::Templates;
use crate::domain::{RefundState, ResolutionKind, Tender, TrackingStatus};
use crate::flows::shipping::ExceptionKind;
use crate::replies::rendering::{explained, CustomerReason, Cx, ParcelView, Timing};
use crate::replies::{ChangeKind, HandoverTopic, Reply};

/// French words.
pub(super) struct French;

const CLOSING: &str = "Pour toute question, il vous suffit de répondre à ce message.";
const TEAM_REVIEWS: &str =
    "Un membre de notre équipe examinera votre demande et reviendra vers vous.";
const SORRY_FOR_DELAY: &str = "Veuillez nous excuser pour ce retard.";

/// A no-break space before `:`, a narrow no-break space before `;`, `?` and `!`, so that the
/// sign never starts a line.
fn french_spacing(text: String) -> String {
    text.replace(" :", "\u{a0}:")
        .replace(" ;", "\u{202f};")
        .replace(" ?", "\u{202f}?")
        .replace(" !", "\u{202f}!")
}

fn days(n: i64) -> String {
    if n == 1 {
        "1 jour".to_owned()
    } else {
        format!("{n} jours")
    }
}

fn timing(p: &ParcelView, compact: bool) -> Option<String> {
    match &p.timing {
        Timing::None => None,
        Timing::Expected { date } | Timing::OnTime { date } if compact => {
            Some(format!("livraison prévue le {date}"))
        }
        Timing::Expected { date } => Some(format!("Livraison prévue : {date}")),

        Timing::OnTime { date } => Some(format!("Livraison prévue : {date} (dans les délais)")),
        Timing::Late {
            days: n,
            expected,
            promised,
        } => {
            if compact {
                let late = n.map_or("en retard".to_owned(), |n| format!("{} de retard", days(n)));
                return Some(match expected {
                    Some(e) => format!("livraison prévue le {e} ({late})"),
                    None => late,
                });
            }
            Some(match expected {
                Some(e) => {
                    let mut late = n.map_or("plus tard qu'annoncé".to_owned(), |n| {
                        format!("soit {} plus tard qu'annoncé", days(n))
                    });
                    if let Some(p) = promised {
                        late.push_str(&format!(" ({p})"));
                    }
                    format!("Livraison prévue : {e}, {late}. {SORRY_FOR_DELAY}")
                }
                None => {
                    let promised = promised
                        .as_ref()
                        .map(|p| format!(" (livraison annoncée le {p})"))
                        .unwrap_or_default();
                    match n {
                        Some(n) => format!(
                            "Ce colis a {} de retard{promised}. {SORRY_FOR_DELAY}",
                            days(*n)
                        ),
                        None => format!("Ce colis est en retard{promised}. {SORRY_FOR_DELAY}"),
                    }
                }
            })
        }
    }
}

fn parcel_block(p: &ParcelView, index: usize, total: usize) -> String {
    let mut header = if total > 1 {
        format!("Colis {index} sur {total} : {}", p.carrier)
    } else {
        format!("Votre colis : {}", p.carrier)
    };
    match &p.tracking_number {
        Some(t) => header.push_str(&format!(", numéro de suivi {t}")),
        None => header.push_str(" (pas encore de numéro de suivi)"),
    }
    let mut lines = vec![header];
    if let Some(items) = &p.items {
        lines.push(format!("Contenu : {items}"));
    }
    match &p.delivered_at {
        Some(at) => lines.push(format!("Statut : {} ({at})", p.status)),
        None => lines.push(format!("Statut : {}", p.status)),
    }
    if let Some(scan) = &p.last_scan {
        let mut line = format!("Dernier événement : {}", scan.at);
        if let Some(place) = &scan.place {
            line.push_str(&format!(", {place}"));
        }
        if let Some(description) = &scan.description {
            line.push_str(&format!(" – {description}"));
        }
        lines.push(line);
    }
    if let Some(t) = timing(p, false) {
        lines.push(t);
    }
    if p.being_investigated {
        lines.push("Nous nous en occupons déjà.".to_owned());
    }
    lines.join("\n")
}

fn parcel_line(p: &ParcelView, index: usize, total: usize) -> String {
    let mut line = String::new();
    if total > 1 {
        line.push_str(&format!("{index}) "));
    }
    if let Some(items) = &p.items {
        line.push_str(&format!("{items} : "));
    }
    line.push_str(p.status);
    if let Some(at) = &p.delivered_at {
        line.push_str(&format!(" ({at})"));
    }
    if let Some(t) = timing(p, true) {
        line.push_str(&format!(", {t}"));
    }
    line.push('.');
    if let Some(scan) = p.last_scan.as_ref().filter(|_| total == 1) {
        line.push_str(&format!(" Dernier événement : {}", scan.at));
        if let Some(place) = &scan.place {
            line.push_str(&format!(", {place}"));
        }
        line.push('.');
    }
    match &p.tracking_number {
        Some(t) => line.push_str(&format!(" Suivi : {t} ({}).", p.carrier)),
        None => line.push_str(&format!(" {}, pas encore de numéro de suivi.", p.carrier)),
    }
    if p.being_investigated {
        line.push_str(" Nous nous en occupons.");
    }
    line
}

fn exception_sentence(kind: ExceptionKind) -> &'static str {
    match kind {
        ExceptionKind::Delayed => "Malheureusement, votre livraison a du retard.",
        ExceptionKind::Lost => "Le transporteur ne signale plus de progression de votre colis depuis un certain temps ; il a peut-être été perdu. Nous vérifions avec le transporteur et reviendrons vers vous.",
        ExceptionKind::CustomsHold => "Votre colis est actuellement retenu à la douane. Nous nous en occupons et vous informerons si nous avons besoin de quelque chose de votre part.",
        ExceptionKind::AddressIssue => "Le transporteur ne parvient pas à livrer votre colis à l'adresse indiquée. Veuillez vérifier votre adresse de livraison et répondre à ce message si elle doit être corrigée.",
        ExceptionKind::Damaged => "Votre colis a été endommagé pendant le transport. Nous en sommes vraiment désolés – notre équipe vous contactera pour la suite.",
        ExceptionKind::ReturnedToSender => "Votre colis est en route pour revenir chez nous. Notre équipe vous contactera pour la suite.",
        ExceptionKind::CarrierException => "Le transporteur a signalé un problème avec votre colis. Nous nous en occupons et vous tiendrons au courant.",
        ExceptionKind::SplitShipment => "Votre commande est expédiée en plusieurs colis, qui peuvent arriver à des jours différents.",
        ExceptionKind::Substitution => "Un article de votre commande n'était plus en stock et a été remplacé par un article équivalent.",
    }
}

fn handover_sentence(topic: HandoverTopic) -> &'static str {
    match topic {
        HandoverTopic::PolicyReview => {
            "Un membre de notre équipe examinera personnellement votre demande et reviendra vers vous."
        }
        HandoverTopic::RefundApproval => {
            "Un membre de notre équipe vérifiera votre remboursement et reviendra vers vous."
        }
        HandoverTopic::CustomerRequest => {
            "Nous avons transmis votre message à un membre de notre équipe, qui reviendra vers vous."
        }
        HandoverTopic::Complaint => {
            "Nous sommes désolés de l'apprendre. Un membre de notre équipe s'en occupera personnellement et reviendra vers vous."
        }
        HandoverTopic::NotUnderstood => {
            "Désolés, nous n'avons pas bien compris votre message. Un membre de notre équipe reviendra vers vous."
        }
        HandoverTopic::ShippingException => {
            "Un membre de notre équipe examine le problème de livraison et reviendra vers vous."
        }
    }
}

impl French {
    fn subject_text(&self, reply: &Reply, cx: &Cx) -> String {
        match reply {
            Reply::AskVerification { .. } => {
                "Veuillez confirmer les détails de votre commande".to_owned()
            }
            Reply::NotVerified => "Nous n'avons pas trouvé votre commande".to_owned(),
            Reply::VerificationLocked => "Recherche de commande suspendue".to_owned(),
            Reply::AskWhichOrder { .. } => "De quelle commande s'agit-il ?".to_owned(),
            Reply::OrderStatus { order_number, .. } => {
                format!("Statut de votre commande {}", cx.order(order_number))
            }
            Reply::AskReturnDetails { order_number, .. } => {
                format!("Votre retour pour la commande {}", cx.order(order_number))
            }
            Reply::ReturnAuthorised { order_number, .. } => format!(
                "Votre retour pour la commande {} est confirmé",
                cx.order(order_number)
            ),
            Reply::ReturnDenied { order_number, .. } => format!(
                "Votre demande de retour pour la commande {}",
                cx.order(order_number)
            ),
            Reply::HandedToHuman {
                ticket_reference, ..
            } => match ticket_reference.as_deref().map(|t| cx.text(t)) {
                Some(t) if !t.is_empty() => {
                    format!("Nous nous occupons de votre demande (réf. {t})")
                }
                _ => "Nous nous occupons de votre demande".to_owned(),
            },
            Reply::ReturnReceived { order_number, .. } => format!(
                "Nous avons reçu votre retour pour la commande {}",
                cx.order(order_number)
            ),
            Reply::RefundIssued { order_number, .. } => {
                format!("Remboursement de la commande {}", cx.order(order_number))
            }
            Reply::RefundStatus { order_number, .. } => format!(
                "État du remboursement de la commande {}",
                cx.order(order_number)
            ),
            Reply::OrderCancelled { order_number, .. } => {
                format!("Votre commande {} a été annulée", cx.order(order_number))
            }
            Reply::AddressChanged { order_number, .. } => format!(
                "Nouvelle adresse de livraison pour la commande {}",
                cx.order(order_number)
            ),
            Reply::ItemsModified { order_number } => {
                format!("Votre commande {} a été modifiée", cx.order(order_number))
            }
            Reply::ChangeDenied { order_number, .. } => format!(
                "Votre demande de modification pour la commande {}",
                cx.order(order_number)
            ),
            Reply::ExceptionNotice { order_number, .. } => {
                format!("Information sur votre commande {}", cx.order(order_number))
            }
            Reply::PolicySummary { .. } => "Notre politique de retour".to_owned(),
            Reply::SystemUnavailable | Reply::Clarify => "Votre demande".to_owned(),
        }
    }

    fn body_text(&self, reply: &Reply, cx: &Cx) -> Vec<String> {
        match reply {
            Reply::AskVerification { order_number } => vec![match order_number {
                Some(n) => format!(
                    "Pour retrouver la commande {}, veuillez nous indiquer l'adresse e-mail et le code postal utilisés lors de la commande.",
                    cx.order(n)
                ),
                None => "Pour retrouver votre commande, veuillez nous indiquer votre numéro de commande ainsi que l'adresse e-mail et le code postal utilisés lors de la commande.".to_owned(),
            }],
            Reply::NotVerified => vec![
                "Nous n'avons trouvé aucune commande correspondant à ces informations. Veuillez vérifier le numéro de commande, l'adresse e-mail et le code postal, puis réessayer.".to_owned(),
            ],
            Reply::VerificationLocked => vec![
                "Pour votre sécurité, nous avons suspendu la recherche de commandes après plusieurs tentatives infructueuses. Veuillez réessayer plus tard.".to_owned(),
            ],
            Reply::AskWhichOrder { candidates } => {
                if candidates.is_empty() {
                    return vec!["De quelle commande s'agit-il ? Veuillez nous indiquer le numéro de commande.".to_owned()];
                }
                if cx.compact {
                    let orders = cx.join(
                        candidates
                            .iter()
                            .map(|c| format!("{} ({})", cx.order(&c.number), cx.day(c.placed_at)))
                            .collect(),
                    );
                    return vec![format!(
                        "Nous avons trouvé plusieurs commandes : {orders}. De laquelle s'agit-il ? Veuillez répondre avec le numéro de commande."
                    )];
                }
                let lines: Vec<String> = candidates
                    .iter()
                    .map(|c| {
                        let mut line = format!("- {} du {}", cx.order(&c.number), cx.day(c.placed_at));
                        if let Some(items) = cx.list(&c.items) {
                            line.push_str(&format!(" : {items}"));
                        }
                        line
                    })
                    .collect();
                vec![
                    "Nous avons trouvé plusieurs commandes. De laquelle s'agit-il ?".to_owned(),
                    lines.join("\n"),
                    "Veuillez répondre avec le numéro de commande.".to_owned(),
                ]
            }
            Reply::OrderStatus {
                order_number,
                parcels,
                unshipped_items,
            } => {
                let n = cx.order(order_number);
                if parcels.is_empty() {
                    return vec![format!(
                        "Votre commande {n} est en préparation et n'a pas encore été expédiée. Nous vous informerons dès qu'elle sera en route."
                    )];
                }
                let mut blocks = vec![if cx.compact {
                    format!("Commande {n} :")
                } else {
                    format!("Voici l'état actuel de votre commande {n}.")
                }];
                for (i, parcel) in parcels.iter().enumerate() {
                    let view = cx.parcel(parcel);
                    blocks.push(if cx.compact {
                        parcel_line(&view, i + 1, parcels.len())
                    } else {
                        parcel_block(&view, i + 1, parcels.len())
                    });
                }
                if let Some(items) = cx.list(unshipped_items) {
                    blocks.push(if cx.compact {
                        format!("Articles pas encore expédiés : {items}.")
                    } else {
                        format!("Articles pas encore expédiés : {items}. Nous vous informerons dès qu'ils seront en route.")
                    });
                }
                blocks
            }
            Reply::AskReturnDetails {
                order_number,
                items,
            } => {
                let mut text = format!(
                    "Quels articles de la commande {} souhaitez-vous retourner, et pour quelle raison ?",
                    cx.order(order_number)
                );
                if let Some(items) = cx.list(items) {
                    text.push_str(&format!(" Articles pouvant être retournés : {items}."));
                }
                vec![text]
            }
            Reply::ReturnAuthorised {
                order_number,
                return_id,
                label_url,
                items,
                resolution,
                refund_estimate,
                return_shipping_fee,
                inspection_required,
            } => {
                let mut first = format!(
                    "Votre retour pour la commande {} est confirmé. Numéro de retour : {}.",
                    cx.order(order_number),
                    cx.text(return_id.as_str())
                );
                if !cx.compact {
                    if let Some(items) = cx.list(items) {
                        first.push_str(&format!(" Articles : {items}."));
                    }
                }
                let label = match cx.label_url(label_url.as_ref()) {
                    Some(url) if cx.compact => format!("Étiquette de retour : {url}"),
                    Some(url) => format!("Veuillez imprimer l'étiquette de retour et la coller sur le colis : {url}"),
                    None => "Nous vous enverrons l'étiquette de retour séparément.".to_owned(),
                };
                let after = if *inspection_required {
                    "Dès réception et vérification des articles"
                } else {
                    "Dès réception des articles"
                };
                let estimate = refund_estimate.filter(|m| m.is_positive());
                let mut money = match (resolution, estimate) {
                    (ResolutionKind::Refund, Some(m)) => format!(
                        "{after}, nous vous rembourserons {} sur votre moyen de paiement d'origine.",
                        cx.money(m)
                    ),
                    (ResolutionKind::Refund, None) => format!(
                        "{after}, nous vous rembourserons sur votre moyen de paiement d'origine."
                    ),
                    (ResolutionKind::StoreCredit, Some(m)) => {
                        format!("{after}, vous recevrez {} sous forme d'avoir.", cx.money(m))
                    }
                    (ResolutionKind::StoreCredit, None) => {
                        format!("{after}, vous recevrez un avoir correspondant.")
                    }
                    (ResolutionKind::Exchange, Some(m)) => format!(
                        "{after}, nous vous enverrons l'article de remplacement et vous rembourserons {}.",
                        cx.money(m)
                    ),
                    (ResolutionKind::Exchange, None) => {
                        format!("{after}, nous vous enverrons l'article de remplacement.")
                    }
                };
                if let Some(fee) = return_shipping_fee.filter(|m| m.is_positive()) {
                    let fee = cx.money(fee);
                    money.push_str(&if estimate.is_some() {
                        format!(" Les frais de retour de {fee} ont été déduits.")
                    } else {
                        format!(" Des frais de retour de {fee} s'appliquent.")
                    });
                }
                vec![first, label, money]
            }
            Reply::ReturnDenied {
                order_number,
                reasons,
                items,
            } => {
                let n = cx.order(order_number);
                let what = match cx.list(items) {
                    Some(items) => format!("le retour de {items} de la commande {n}"),
                    None => format!("votre retour de la commande {n}"),
                };
                let sentences = cx.reasons(reasons);
                if sentences.is_empty() {
                    return vec![format!(
                        "Nous ne pouvons pas approuver automatiquement {what}. {TEAM_REVIEWS}"
                    )];
                }
                let intro = format!("Malheureusement, nous ne pouvons pas accepter {what}.");
                let mut blocks = explained(intro, &sentences, cx.compact);
                if !cx.compact {
                    blocks.push(CLOSING.to_owned());
                }
                blocks
            }
            Reply::HandedToHuman {
                topic,
                ticket_reference,
            } => {
                let mut text = handover_sentence(*topic).to_owned();
                if let Some(t) = ticket_reference.as_deref().map(|t| cx.text(t)) {
                    if !t.is_empty() {
                        text.push_str(&format!(" Votre référence : {t}."));
                    }
                }
                vec![text]
            }
            Reply::ReturnReceived {
                order_number,
                awaiting_inspection,
            } => {
                let next = if *awaiting_inspection {
                    "Nous vérifions maintenant les articles ; votre remboursement suivra dès que ce sera fait."
                } else {
                    "Nous finaliserons votre retour sous peu."
                };
                vec![format!(
                    "Nous avons bien reçu votre retour pour la commande {}. {next}",
                    cx.order(order_number)
                )]
            }
            Reply::RefundIssued {
                order_number,
                amount,
                tenders,
            } => {
                let mut text = format!(
                    "Nous avons remboursé {} pour la commande {} {}.",
                    cx.money(*amount),
                    cx.order(order_number),
                    cx.tenders(tenders)
                );
                if cx.reaches_a_bank(tenders) {
                    text.push_str(" Selon votre banque, le montant peut mettre quelques jours ouvrables à apparaître.");
                }
                vec![text]
            }
            Reply::RefundStatus {
                order_number,
                refunds,
                return_in_progress,
            } => {
                let n = cx.order(order_number);
                let mut blocks = Vec::new();
                if refunds.is_empty() {
                    blocks.push(format!("Aucun remboursement n'a encore été effectué pour la commande {n}."));
                } else {
                    let lines: Vec<String> = refunds
                        .iter()
                        .map(|r| {
                            format!(
                                "- {} le {} : {}",
                                cx.money(r.amount),
                                cx.day(r.created_at),
                                self.refund_state(r.state)
                            )
                        })
                        .collect();
                    blocks.push(format!("Remboursements pour la commande {n} :\n{}", lines.join("\n")));
                }
                if *return_in_progress {
                    blocks.push(
                        "Votre retour est en route vers nous ou en cours de vérification. Nous vous rembourserons dès que ce sera fait.".to_owned(),
                    );
                } else if refunds.is_empty() {
                    blocks.push("Si vous souhaitez retourner un article, faites-le-nous savoir.".to_owned());
                }
                blocks
            }
            Reply::OrderCancelled {
                order_number,
                refund,
            } => {
                let mut text = format!("Votre commande {} a été annulée.", cx.order(order_number));
                if let Some(m) = refund.filter(|m| m.is_positive()) {
                    text.push_str(&format!(
                        " Nous vous rembourserons {} sur votre moyen de paiement d'origine.",
                        cx.money(m)
                    ));
                }
                vec![text]
            }
            Reply::AddressChanged {
                order_number,
                address,
            } => {
                let lines = cx.address(address);
                let n = cx.order(order_number);
                if cx.compact {
                    vec![format!(
                        "La nouvelle adresse de livraison de la commande {n} est : {}.",
                        lines.join(", ")
                    )]
                } else {
                    vec![format!(
                        "La nouvelle adresse de livraison de la commande {n} est :\n{}",
                        lines.join("\n")
                    )]
                }
            }
            Reply::ItemsModified { order_number } => vec![format!(
                "Les articles de votre commande {} ont été modifiés comme demandé.",
                cx.order(order_number)
            )],
            Reply::ChangeDenied {
                order_number,
                change,
                reasons,
            } => {
                let n = cx.order(order_number);
                let what = match change {
                    ChangeKind::Cancel => format!("annuler la commande {n}"),
                    ChangeKind::Address => format!("modifier l'adresse de livraison de la commande {n}"),
                    ChangeKind::Items => format!("modifier les articles de la commande {n}"),
                };
                let sentences = cx.reasons(reasons);
                if sentences.is_empty() {
                    return vec![format!(
                        "Nous n'avons pas pu {what} automatiquement. {TEAM_REVIEWS}"
                    )];
                }
                let mut blocks = explained(
                    format!("Malheureusement, nous n'avons pas pu {what}."),
                    &sentences,
                    cx.compact,
                );
                if !cx.compact {
                    blocks.push(CLOSING.to_owned());
                }
                blocks
            }
            Reply::ExceptionNotice {
                order_number,
                kind,
                parcel,
            } => {
                let n = cx.order(order_number);
                let sentence = exception_sentence(*kind);
                let intro = format!("Voici une information concernant votre commande {n}.");
                let mut blocks = if cx.compact {
                    vec![format!("{intro} {sentence}")]
                } else {
                    vec![intro, sentence.to_owned()]
                };
                if let Some(parcel) = parcel {
                    let view = cx.parcel(parcel);
                    blocks.push(if cx.compact {
                        parcel_line(&view, 1, 1)
                    } else {
                        parcel_block(&view, 1, 1)
                    });
                }
                blocks
            }
            Reply::PolicySummary {
                window_days,
                return_shipping_fee,
            } => {
                let mut text = format!(
                    "Vous pouvez retourner les articles dans un délai de {} après la livraison.",
                    days(*window_days)
                );
                match return_shipping_fee.filter(|m| m.is_positive()) {
                    Some(fee) => text.push_str(&format!(
                        " Les frais de retour s'élèvent à {} et sont déduits de votre remboursement.",
                        cx.money(fee)
                    )),
                    None => text.push_str(" Le retour est gratuit."),
                }
                text.push_str(" Certains articles, comme les articles d'hygiène ou vendus sans possibilité de retour, ne peuvent pas être retournés.");
                if !cx.compact {
                    text.push_str(" Pour effectuer un retour, envoyez-nous simplement votre numéro de commande.");
                }
                vec![text]
            }
            Reply::SystemUnavailable => vec![
                "Désolés, nous ne pouvons pas accéder à nos systèmes pour le moment. Un membre de notre équipe reviendra vers vous dès que possible.".to_owned(),
            ],
            Reply::Clarify => vec![
                "Pourriez-vous nous en dire un peu plus sur votre demande ? Par exemple, votre numéro de commande et s'il s'agit d'une livraison, d'un retour ou d'un remboursement.".to_owned(),
            ],
        }
    }
}

impl Templates for French {
    fn greeting(&self) -> &'static str {
        "Bonjour,"
    }

    fn sign_off(&self) -> &'static str {
        "Meilleures salutations\nVotre service client"
    }

    fn subject(&self, reply: &Reply, cx: &Cx) -> String {
        french_spacing(self.subject_text(reply, cx))
    }

    fn body(&self, reply: &Reply, cx: &Cx) -> Vec<String> {
        self.body_text(reply, cx)
            .into_iter()
            .map(french_spacing)
            .collect()
    }

    fn reason(&self, reason: CustomerReason) -> &'static str {
        use CustomerReason as C;
        match reason {
            C::WindowExpired => "Le délai de retour pour cet article est dépassé.",
            C::FinalSale => "Cet article a été vendu sans possibilité de retour.",
            C::WarrantyClaim => "Un article défectueux est traité au titre de la garantie ; notre équipe vous contactera à ce sujet.",
            C::Hygiene => "Pour des raisons d'hygiène, cet article ne peut pas être retourné.",
            C::NotReturnable => "Cet article est exclu des retours.",
            C::ResolutionNotAllowed => "L'option choisie (remboursement, avoir ou échange) n'est pas disponible pour cet article.",
            C::ExchangeUnavailable => "L'article souhaité en échange n'est pas disponible.",
            C::GiftCardInsufficient => "Le solde de la carte cadeau ne couvre pas la différence de prix.",
            C::UnknownLine => "Nous n'avons pas trouvé cet article dans la commande.",
            C::QuantityExceeded => "La quantité dépasse ce qui peut encore être retourné.",
            C::EmptyRequest => "Aucun article n'a été sélectionné.",
            C::NotShipped => "L'article n'a pas encore été expédié ; vous pouvez plutôt l'annuler ou le modifier.",
            C::NothingToRefund => "Cette commande a déjà été entièrement remboursée.",
            C::AlreadyFulfilled => "La commande a déjà été expédiée ou clôturée.",
            C::StateNotAllowed => "La commande se trouve à une étape où cela n'est plus possible.",
            C::ReasonNotAllowed => "Pour le motif indiqué, nous ne pouvons pas traiter cette demande en ligne.",
            C::ChangeDisabled => "Cette modification n'est pas possible en ligne.",
            C::ModificationLimitReached => "La commande a déjà été modifiée autant de fois que possible en ligne.",
            C::CountryChange => "L'adresse de livraison ne peut pas être changée pour un autre pays.",
            C::PriceDifference => "Le nouvel article a un prix différent ; la modification n'est donc pas possible en ligne.",
            C::AddressUndeliverable => "Le transporteur ne peut pas livrer à cette adresse. Merci de la vérifier et de nous la renvoyer.",
        }
    }

    fn tracking_status(&self, status: TrackingStatus) -> &'static str {
        match status {
            TrackingStatus::LabelCreated => "Prêt à l'expédition (étiquette créée)",
            TrackingStatus::PickedUp => "Remis au transporteur",
            TrackingStatus::InTransit => "En transit",
            TrackingStatus::OutForDelivery => "En cours de livraison",
            TrackingStatus::Delivered => "Livré",
            TrackingStatus::DeliveryAttemptFailed => "Échec de la tentative de livraison",
            TrackingStatus::AvailableForPickup => "Disponible au point de retrait",
            TrackingStatus::CustomsHold => "Retenu à la douane",
            TrackingStatus::AddressIssue => "Problème d'adresse de livraison",
            TrackingStatus::Damaged => "Endommagé pendant le transport",
            TrackingStatus::Lost => "Déclaré perdu par le transporteur",
            TrackingStatus::ReturnedToSender => "En retour vers l'expéditeur",
            TrackingStatus::Exception => "Incident signalé par le transporteur",
            TrackingStatus::Unknown => "Statut pas encore disponible",
        }
    }

    fn tender(&self, tender: Tender) -> &'static str {
        match tender {
            Tender::Card => "sur votre carte",
            Tender::Paypal => "sur votre compte PayPal",
            Tender::Twint => "sur votre compte TWINT",
            Tender::BankTransfer => "sur votre compte bancaire",
            Tender::GiftCard => "sur votre carte cadeau",
            Tender::StoreCredit => "sur votre avoir client",
        }
    }

    fn unknown_carrier(&self) -> &'static str {
        "transporteur inconnu"
    }

    fn original_payment_method(&self) -> &'static str {
        "sur votre moyen de paiement d'origine"
    }

    fn refund_state(&self, state: RefundState) -> &'static str {
        match state {
            RefundState::Pending => "en cours",
            RefundState::Succeeded => "effectué",
            RefundState::Failed => "non abouti – nous nous en occupons",
        }
    }

    fn country(&self, iso_code: &str) -> Option<&'static str> {
        Some(match iso_code {
            "CH" => "Suisse",
            "LI" => "Liechtenstein",
            "DE" => "Allemagne",
            "AT" => "Autriche",
            "FR" => "France",
            "IT" => "Italie",
            _ => return None,
        })
    }

    fn and(&self) -> &'static str {
        "et"
    }

    fn more(&self, count: usize) -> String {
        format!("{count} autres")
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{Channel, Locale};
    use crate::replies::fixtures::{return_authorised, return_denied, wismo_two_parcels};
    use crate::replies::render;

    const TZ: chrono_tz::Tz = chrono_tz::Europe::Zurich;

    #[test]
    fn wismo_with_two_parcels_one_late_by_email() {
        let r = render(&wismo_two_parcels(), Locale::Fr, Channel::Email, TZ);
        assert_eq!(r.subject.as_deref(), Some("Statut de votre commande #1042"));
        assert_eq!(
            r.body,
            "Bonjour,\n\
            \n\
            Voici l'état actuel de votre commande #1042.\n\
            \n\
            Colis 1 sur 2\u{a0}: La Poste, numéro de suivi 99.00.123456.78901234\n\
            Contenu\u{a0}: Merino Pullover et Trekking-Socken\n\
            Statut\u{a0}: En transit\n\
            Dernier événement\u{a0}: 22 octobre 2026 à 14:05, Zürich-Mülligen – Sortierung\n\
            Livraison prévue\u{a0}: 24 octobre 2026 (dans les délais)\n\
            \n\
            Colis 2 sur 2\u{a0}: DHL, numéro de suivi JD014600003828\n\
            Contenu\u{a0}: Daunenjacke Alpina\n\
            Statut\u{a0}: En transit\n\
            Dernier événement\u{a0}: 23 octobre 2026 à 09:40, Basel – Ankunft im Verteilzentrum\n\
            Livraison prévue\u{a0}: 27 octobre 2026, soit 2 jours plus tard qu'annoncé (25 octobre 2026). Veuillez nous excuser pour ce retard.\n\
            \n\
            Articles pas encore expédiés\u{a0}: Mütze Engadin. Nous vous informerons dès qu'ils seront en route.\n\
            \n\
            Meilleures salutations\n\
            Votre service client"
        );
    }

    #[test]
    fn return_authorised_by_sms() {
        let r = render(&return_authorised(), Locale::Fr, Channel::Sms, TZ);
        assert_eq!(
            r.body,
            "Votre retour pour la commande #1042 est confirmé. Numéro de retour\u{a0}: R-2026-0077.\n\
            Étiquette de retour\u{a0}: https://labels.example.ch/r/2026-0077.pdf\n\
            Dès réception des articles, nous vous rembourserons 123,40\u{a0}CHF sur votre moyen de paiement d'origine. Les frais de retour de 7,00\u{a0}CHF ont été déduits."
        );
    }

    #[test]
    fn return_denied_on_whatsapp() {
        let r = render(&return_denied(), Locale::Fr, Channel::Whatsapp, TZ);
        assert_eq!(
            r.body,
            "Malheureusement, nous ne pouvons pas accepter le retour de Daunenjacke Alpina de la commande #1042.\n\
            \n\
            - Le délai de retour pour cet article est dépassé.\n\
            - Cet article a été vendu sans possibilité de retour.\n\
            \n\
            Pour toute question, il vous suffit de répondre à ce message."
        );
    }
}
