//! German, Swiss usage: formal "Sie", "ss" instead of "ß", "Etikette", "Guten Tag".

use super::Templates;
use crate::domain::{RefundState, ResolutionKind, Tender, TrackingStatus};
use crate::flows::shipping::ExceptionKind;
use crate::replies::rendering::{explained, CustomerReason, Cx, ParcelView, Timing};
use crate::replies::{ChangeKind, HandoverTopic, Reply};

/// German words.
pub(super) struct German;

const CLOSING: &str = "Bei Fragen antworten Sie einfach auf diese Nachricht.";
const TEAM_REVIEWS: &str = "Unser Team prüft Ihre Anfrage persönlich und meldet sich bei Ihnen.";
const SORRY_FOR_DELAY: &str = "Bitte entschuldigen Sie die Verzögerung.";

fn days(n: i64) -> String {
    if n == 1 {
        "1 Tag".to_owned()
    } else {
        format!("{n} Tage")
    }
}

/// After "innerhalb von": dative.
fn days_dative(n: i64) -> String {
    if n == 1 {
        "1 Tag".to_owned()
    } else {
        format!("{n} Tagen")
    }
}

fn timing(p: &ParcelView, compact: bool) -> Option<String> {
    match &p.timing {
        Timing::None => None,
        Timing::Expected { date } | Timing::OnTime { date } if compact => {
            Some(format!("voraussichtlich am {date}"))
        }
        Timing::Expected { date } => Some(format!("Voraussichtliche Zustellung: {date}")),

        Timing::OnTime { date } => Some(format!("Voraussichtliche Zustellung: {date} (pünktlich)")),
        Timing::Late {
            days: n,
            expected,
            promised,
        } => {
            if compact {
                let late = n.map_or("verspätet".to_owned(), |n| {
                    format!("{} Verspätung", days(n))
                });
                return Some(match expected {
                    Some(e) => format!("voraussichtlich am {e} ({late})"),
                    None => late,
                });
            }
            let promised_date = promised
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            let promised_until = promised
                .as_ref()
                .map(|p| format!(" (zugesagt bis {p})"))
                .unwrap_or_default();
            Some(match (expected, n) {
                (Some(e), Some(n)) => format!(
                    "Voraussichtliche Zustellung: {e}, {} später als zugesagt{promised_date}. {SORRY_FOR_DELAY}",
                    days(*n)
                ),
                (Some(e), None) => format!(
                    "Voraussichtliche Zustellung: {e}, später als zugesagt{promised_date}. {SORRY_FOR_DELAY}"
                ),
                (None, Some(n)) => format!(
                    "Dieses Paket hat {} Verspätung{promised_until}. {SORRY_FOR_DELAY}",
                    days(*n)
                ),
                (None, None) => {
                    format!("Dieses Paket hat Verspätung{promised_until}. {SORRY_FOR_DELAY}")
                }
            })
        }
    }
}

fn parcel_block(p: &ParcelView, index: usize, total: usize) -> String {
    let mut header = if total > 1 {
        format!("Paket {index} von {total}: {}", p.carrier)
    } else {
        format!("Ihr Paket: {}", p.carrier)
    };
    match &p.tracking_number {
        Some(t) => header.push_str(&format!(", Sendungsnummer {t}")),
        None => header.push_str(" (noch keine Sendungsnummer)"),
    }
    let mut lines = vec![header];
    if let Some(items) = &p.items {
        lines.push(format!("Inhalt: {items}"));
    }
    match &p.delivered_at {
        Some(at) => lines.push(format!("Status: {} ({at})", p.status)),
        None => lines.push(format!("Status: {}", p.status)),
    }
    if let Some(scan) = &p.last_scan {
        let mut line = format!("Letzte Meldung: {}", scan.at);
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
        lines.push("Wir kümmern uns bereits darum.".to_owned());
    }
    lines.join("\n")
}

fn parcel_line(p: &ParcelView, index: usize, total: usize) -> String {
    let mut line = String::new();
    if total > 1 {
        line.push_str(&format!("{index}) "));
    }
    if let Some(items) = &p.items {
        line.push_str(&format!("{items}: "));
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
        line.push_str(&format!(" Letzte Meldung: {}", scan.at));
        if let Some(place) = &scan.place {
            line.push_str(&format!(", {place}"));
        }
        line.push('.');
    }
    match &p.tracking_number {
        Some(t) => line.push_str(&format!(" Sendungsnummer: {t} ({}).", p.carrier)),
        None => line.push_str(&format!(" {}, noch keine Sendungsnummer.", p.carrier)),
    }
    if p.being_investigated {
        line.push_str(" Wir kümmern uns darum.");
    }
    line
}

fn exception_sentence(kind: ExceptionKind) -> &'static str {
    match kind {
        ExceptionKind::Delayed => "Leider verzögert sich Ihre Lieferung.",
        ExceptionKind::Lost => "Der Paketdienst hat seit einiger Zeit keinen Fortschritt Ihres Pakets gemeldet; es ist möglicherweise verloren gegangen. Wir klären das mit dem Paketdienst und melden uns bei Ihnen.",
        ExceptionKind::CustomsHold => "Ihr Paket wird derzeit vom Zoll zurückgehalten. Wir kümmern uns darum und melden uns, falls wir etwas von Ihnen benötigen.",
        ExceptionKind::AddressIssue => "Der Paketdienst kann Ihr Paket nicht an die angegebene Adresse zustellen. Bitte prüfen Sie Ihre Lieferadresse und antworten Sie auf diese Nachricht, falls sie korrigiert werden muss.",
        ExceptionKind::Damaged => "Ihr Paket wurde beim Transport beschädigt. Das tut uns sehr leid – unser Team meldet sich bei Ihnen wegen des weiteren Vorgehens.",
        ExceptionKind::ReturnedToSender => "Ihr Paket ist auf dem Rückweg zu uns. Unser Team meldet sich bei Ihnen wegen des weiteren Vorgehens.",
        ExceptionKind::CarrierException => "Der Paketdienst hat ein Problem mit Ihrem Paket gemeldet. Wir kümmern uns darum und halten Sie auf dem Laufenden.",
        ExceptionKind::SplitShipment => "Ihre Bestellung wird in mehreren Paketen verschickt, die an unterschiedlichen Tagen ankommen können.",
        ExceptionKind::Substitution => "Ein Artikel Ihrer Bestellung war nicht mehr vorrätig und wurde durch einen gleichwertigen Artikel ersetzt.",
    }
}

fn handover_sentence(topic: HandoverTopic) -> &'static str {
    match topic {
        HandoverTopic::PolicyReview => TEAM_REVIEWS,
        HandoverTopic::RefundApproval => {
            "Unser Team prüft Ihre Rückerstattung und meldet sich bei Ihnen."
        }
        HandoverTopic::CustomerRequest => {
            "Wir haben Ihre Nachricht an unser Team weitergeleitet. Wir melden uns persönlich bei Ihnen."
        }
        HandoverTopic::Complaint => {
            "Das tut uns leid. Unser Team kümmert sich persönlich darum und meldet sich bei Ihnen."
        }
        HandoverTopic::NotUnderstood => {
            "Entschuldigung, wir haben Ihre Nachricht nicht ganz verstanden. Unser Team meldet sich bei Ihnen."
        }
        HandoverTopic::ShippingException => {
            "Unser Team klärt das Lieferproblem und meldet sich bei Ihnen."
        }
    }
}

impl Templates for German {
    fn greeting(&self) -> &'static str {
        "Guten Tag"
    }

    fn sign_off(&self) -> &'static str {
        "Freundliche Grüsse\nIhr Kundendienst"
    }

    fn subject(&self, reply: &Reply, cx: &Cx) -> String {
        match reply {
            Reply::AskVerification { .. } => "Bitte bestätigen Sie Ihre Bestelldaten".to_owned(),
            Reply::NotVerified => "Wir konnten Ihre Bestellung nicht finden".to_owned(),
            Reply::VerificationLocked => "Bestellabfrage vorübergehend gesperrt".to_owned(),
            Reply::AskWhichOrder { .. } => "Welche Bestellung meinen Sie?".to_owned(),
            Reply::OrderStatus { order_number, .. } => {
                format!("Stand Ihrer Bestellung {}", cx.order(order_number))
            }
            Reply::AskReturnDetails { order_number, .. } => {
                format!("Ihre Rücksendung zur Bestellung {}", cx.order(order_number))
            }
            Reply::ReturnAuthorised { order_number, .. } => format!(
                "Ihre Rücksendung zur Bestellung {} ist bestätigt",
                cx.order(order_number)
            ),
            Reply::ReturnDenied { order_number, .. } => {
                format!(
                    "Ihre Rücksendeanfrage zur Bestellung {}",
                    cx.order(order_number)
                )
            }
            Reply::HandedToHuman {
                ticket_reference, ..
            } => match ticket_reference.as_deref().map(|t| cx.text(t)) {
                Some(t) if !t.is_empty() => format!("Wir kümmern uns um Ihre Anfrage (Ref. {t})"),
                _ => "Wir kümmern uns um Ihre Anfrage".to_owned(),
            },
            Reply::ReturnReceived { order_number, .. } => format!(
                "Ihre Rücksendung zur Bestellung {} ist eingetroffen",
                cx.order(order_number)
            ),
            Reply::RefundIssued { order_number, .. } => {
                format!("Rückerstattung zur Bestellung {}", cx.order(order_number))
            }
            Reply::RefundStatus { order_number, .. } => format!(
                "Stand der Rückerstattung zur Bestellung {}",
                cx.order(order_number)
            ),
            Reply::OrderCancelled { order_number, .. } => {
                format!("Ihre Bestellung {} wurde storniert", cx.order(order_number))
            }
            Reply::AddressChanged { order_number, .. } => {
                format!(
                    "Neue Lieferadresse für die Bestellung {}",
                    cx.order(order_number)
                )
            }
            Reply::ItemsModified { order_number } => {
                format!("Ihre Bestellung {} wurde geändert", cx.order(order_number))
            }
            Reply::ChangeDenied { order_number, .. } => {
                format!(
                    "Ihre Änderungsanfrage zur Bestellung {}",
                    cx.order(order_number)
                )
            }
            Reply::ExceptionNotice { order_number, .. } => {
                format!("Neuigkeiten zu Ihrer Bestellung {}", cx.order(order_number))
            }
            Reply::PolicySummary { .. } => "Unsere Rückgabebedingungen".to_owned(),
            Reply::SystemUnavailable | Reply::Clarify => "Ihre Anfrage".to_owned(),
        }
    }

    fn body(&self, reply: &Reply, cx: &Cx) -> Vec<String> {
        match reply {
            Reply::AskVerification { order_number } => vec![match order_number {
                Some(n) => format!(
                    "Damit wir die Bestellung {} finden, senden Sie uns bitte die E-Mail-Adresse und die Postleitzahl, die Sie bei der Bestellung angegeben haben.",
                    cx.order(n)
                ),
                None => "Damit wir Ihre Bestellung finden, senden Sie uns bitte die Bestellnummer sowie die E-Mail-Adresse und die Postleitzahl, die Sie bei der Bestellung angegeben haben.".to_owned(),
            }],
            Reply::NotVerified => vec![
                "Wir konnten keine Bestellung mit diesen Angaben finden. Bitte prüfen Sie Bestellnummer, E-Mail-Adresse und Postleitzahl und versuchen Sie es noch einmal.".to_owned(),
            ],
            Reply::VerificationLocked => vec![
                "Zu Ihrer Sicherheit haben wir die Bestellabfrage nach mehreren erfolglosen Versuchen vorübergehend gesperrt. Bitte versuchen Sie es später noch einmal.".to_owned(),
            ],
            Reply::AskWhichOrder { candidates } => {
                if candidates.is_empty() {
                    return vec!["Welche Bestellung meinen Sie? Bitte senden Sie uns die Bestellnummer.".to_owned()];
                }
                if cx.compact {
                    let orders = cx.join(
                        candidates
                            .iter()
                            .map(|c| format!("{} ({})", cx.order(&c.number), cx.day(c.placed_at)))
                            .collect(),
                    );
                    return vec![format!(
                        "Wir haben mehrere Bestellungen gefunden: {orders}. Welche meinen Sie? Bitte antworten Sie mit der Bestellnummer."
                    )];
                }
                let lines: Vec<String> = candidates
                    .iter()
                    .map(|c| {
                        let mut line = format!("- {} vom {}", cx.order(&c.number), cx.day(c.placed_at));
                        if let Some(items) = cx.list(&c.items) {
                            line.push_str(&format!(": {items}"));
                        }
                        line
                    })
                    .collect();
                vec![
                    "Wir haben mehrere Bestellungen gefunden. Welche meinen Sie?".to_owned(),
                    lines.join("\n"),
                    "Bitte antworten Sie mit der Bestellnummer.".to_owned(),
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
                        "Ihre Bestellung {n} wird vorbereitet und ist noch nicht versandt. Wir informieren Sie, sobald sie unterwegs ist."
                    )];
                }
                let mut blocks = vec![if cx.compact {
                    format!("Bestellung {n}:")
                } else {
                    format!("Hier ist der aktuelle Stand Ihrer Bestellung {n}.")
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
                        format!("Noch nicht versandt: {items}.")
                    } else {
                        format!("Noch nicht versandt: {items}. Wir informieren Sie, sobald diese Artikel unterwegs sind.")
                    });
                }
                blocks
            }
            Reply::AskReturnDetails {
                order_number,
                items,
            } => {
                let mut text = format!(
                    "Welche Artikel aus der Bestellung {} möchten Sie zurücksenden, und aus welchem Grund?",
                    cx.order(order_number)
                );
                if let Some(items) = cx.list(items) {
                    text.push_str(&format!(" Diese Artikel können zurückgesendet werden: {items}."));
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
                    "Ihre Rücksendung zur Bestellung {} ist bestätigt. Rücksendenummer: {}.",
                    cx.order(order_number),
                    cx.text(return_id.as_str())
                );
                if !cx.compact {
                    if let Some(items) = cx.list(items) {
                        first.push_str(&format!(" Artikel: {items}."));
                    }
                }
                let label = match cx.label_url(label_url.as_ref()) {
                    Some(url) if cx.compact => format!("Rücksendeetikette: {url}"),
                    Some(url) => format!("Bitte drucken Sie die Rücksendeetikette aus und kleben Sie sie auf das Paket: {url}"),
                    None => "Die Rücksendeetikette senden wir Ihnen separat zu.".to_owned(),
                };
                let after = if *inspection_required {
                    "Sobald die Artikel bei uns eingetroffen und geprüft sind"
                } else {
                    "Sobald die Artikel bei uns eingetroffen sind"
                };
                let estimate = refund_estimate.filter(|m| m.is_positive());
                let mut money = match (resolution, estimate) {
                    (ResolutionKind::Refund, Some(m)) => format!(
                        "{after}, erstatten wir Ihnen {} auf Ihr ursprüngliches Zahlungsmittel.",
                        cx.money(m)
                    ),
                    (ResolutionKind::Refund, None) => format!(
                        "{after}, erstatten wir Ihnen den Betrag auf Ihr ursprüngliches Zahlungsmittel."
                    ),
                    (ResolutionKind::StoreCredit, Some(m)) => {
                        format!("{after}, erhalten Sie {} als Guthaben.", cx.money(m))
                    }
                    (ResolutionKind::StoreCredit, None) => {
                        format!("{after}, erhalten Sie dafür ein Guthaben.")
                    }
                    (ResolutionKind::Exchange, Some(m)) => format!(
                        "{after}, senden wir Ihnen den Ersatzartikel und erstatten Ihnen {}.",
                        cx.money(m)
                    ),
                    (ResolutionKind::Exchange, None) => {
                        format!("{after}, senden wir Ihnen den Ersatzartikel.")
                    }
                };
                if let Some(fee) = return_shipping_fee.filter(|m| m.is_positive()) {
                    let fee = cx.money(fee);
                    money.push_str(&if estimate.is_some() {
                        format!(" Die Rücksendekosten von {fee} sind bereits abgezogen.")
                    } else {
                        format!(" Für die Rücksendung fallen {fee} an.")
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
                    Some(items) => format!("die Rücksendung von {items} aus der Bestellung {n}"),
                    None => format!("Ihre Rücksendung aus der Bestellung {n}"),
                };
                let sentences = cx.reasons(reasons);
                if sentences.is_empty() {
                    return vec![format!(
                        "Wir können {what} nicht automatisch genehmigen. {TEAM_REVIEWS}"
                    )];
                }
                let intro = format!("Leider können wir {what} nicht annehmen.");
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
                        text.push_str(&format!(" Ihre Referenz: {t}."));
                    }
                }
                vec![text]
            }
            Reply::ReturnReceived {
                order_number,
                awaiting_inspection,
            } => {
                let next = if *awaiting_inspection {
                    "Wir prüfen jetzt die Artikel; die Rückerstattung folgt, sobald das erledigt ist."
                } else {
                    "Wir schliessen Ihre Rücksendung in Kürze ab."
                };
                vec![format!(
                    "Ihre Rücksendung zur Bestellung {} ist bei uns eingetroffen. {next}",
                    cx.order(order_number)
                )]
            }
            Reply::RefundIssued {
                order_number,
                amount,
                tenders,
            } => {
                let mut text = format!(
                    "Wir haben Ihnen {} für die Bestellung {} {} zurückerstattet.",
                    cx.money(*amount),
                    cx.order(order_number),
                    cx.tenders(tenders)
                );
                if cx.reaches_a_bank(tenders) {
                    text.push_str(" Je nach Bank kann es einige Arbeitstage dauern, bis der Betrag sichtbar ist.");
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
                    blocks.push(format!("Für die Bestellung {n} wurde noch nichts zurückerstattet."));
                } else {
                    let lines: Vec<String> = refunds
                        .iter()
                        .map(|r| {
                            format!(
                                "- {} am {}: {}",
                                cx.money(r.amount),
                                cx.day(r.created_at),
                                self.refund_state(r.state)
                            )
                        })
                        .collect();
                    blocks.push(format!("Rückerstattungen zur Bestellung {n}:\n{}", lines.join("\n")));
                }
                if *return_in_progress {
                    blocks.push(
                        "Ihre Rücksendung ist auf dem Weg zu uns oder wird geprüft. Wir erstatten Ihnen den Betrag, sobald das erledigt ist.".to_owned(),
                    );
                } else if refunds.is_empty() {
                    blocks.push("Wenn Sie etwas zurücksenden möchten, lassen Sie es uns einfach wissen.".to_owned());
                }
                blocks
            }
            Reply::OrderCancelled {
                order_number,
                refund,
            } => {
                let mut text = format!("Ihre Bestellung {} wurde storniert.", cx.order(order_number));
                if let Some(m) = refund.filter(|m| m.is_positive()) {
                    text.push_str(&format!(
                        " Wir erstatten Ihnen {} auf Ihr ursprüngliches Zahlungsmittel.",
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
                        "Die neue Lieferadresse der Bestellung {n} lautet: {}.",
                        lines.join(", ")
                    )]
                } else {
                    vec![format!(
                        "Die neue Lieferadresse der Bestellung {n} lautet:\n{}",
                        lines.join("\n")
                    )]
                }
            }
            Reply::ItemsModified { order_number } => vec![format!(
                "Die Artikel Ihrer Bestellung {} wurden wie gewünscht geändert.",
                cx.order(order_number)
            )],
            Reply::ChangeDenied {
                order_number,
                change,
                reasons,
            } => {
                let n = cx.order(order_number);
                let (object, verb) = match change {
                    ChangeKind::Cancel => (format!("die Bestellung {n}"), "stornieren"),
                    ChangeKind::Address => (format!("die Lieferadresse der Bestellung {n}"), "ändern"),
                    ChangeKind::Items => (format!("die Artikel der Bestellung {n}"), "ändern"),
                };
                let sentences = cx.reasons(reasons);
                if sentences.is_empty() {
                    return vec![format!(
                        "Wir konnten {object} nicht automatisch {verb}. {TEAM_REVIEWS}"
                    )];
                }
                let mut blocks = explained(
                    format!("Leider konnten wir {object} nicht {verb}."),
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
                let intro = format!("Es gibt Neuigkeiten zu Ihrer Bestellung {n}.");
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
                    "Sie können Artikel innerhalb von {} nach Erhalt zurücksenden.",
                    days_dative(*window_days)
                );
                match return_shipping_fee.filter(|m| m.is_positive()) {
                    Some(fee) => text.push_str(&format!(
                        " Die Rücksendung kostet {}; der Betrag wird von der Rückerstattung abgezogen.",
                        cx.money(fee)
                    )),
                    None => text.push_str(" Die Rücksendung ist kostenlos."),
                }
                text.push_str(" Einige Artikel, zum Beispiel Hygieneartikel oder Artikel ohne Rückgaberecht, sind ausgeschlossen.");
                if !cx.compact {
                    text.push_str(" Für eine Rücksendung senden Sie uns einfach Ihre Bestellnummer.");
                }
                vec![text]
            }
            Reply::SystemUnavailable => vec![
                "Entschuldigung, wir können im Moment nicht auf unsere Systeme zugreifen. Unser Team meldet sich so bald wie möglich bei Ihnen.".to_owned(),
            ],
            Reply::Clarify => vec![
                "Können Sie uns etwas genauer sagen, worum es geht? Zum Beispiel Ihre Bestellnummer und ob es um eine Lieferung, eine Rücksendung oder eine Rückerstattung geht.".to_owned(),
            ],
        }
    }

    fn reason(&self, reason: CustomerReason) -> &'static str {
        use CustomerReason as C;
        match reason {
            C::WindowExpired => "Die Rückgabefrist für diesen Artikel ist abgelaufen.",
            C::FinalSale => "Dieser Artikel wurde ohne Rückgaberecht verkauft.",
            C::WarrantyClaim => "Ein defekter Artikel wird als Garantiefall behandelt; unser Team meldet sich dazu bei Ihnen.",
            C::Hygiene => "Aus hygienischen Gründen kann dieser Artikel nicht zurückgenommen werden.",
            C::NotReturnable => "Dieser Artikel ist von der Rückgabe ausgeschlossen.",
            C::ResolutionNotAllowed => "Die gewählte Option (Rückerstattung, Guthaben oder Umtausch) ist für diesen Artikel nicht verfügbar.",
            C::ExchangeUnavailable => "Der gewünschte Umtauschartikel ist nicht verfügbar.",
            C::GiftCardInsufficient => "Das Guthaben der Geschenkkarte deckt die Preisdifferenz nicht.",
            C::UnknownLine => "Wir konnten diesen Artikel in der Bestellung nicht finden.",
            C::QuantityExceeded => "Die Menge ist grösser als die Anzahl, die noch zurückgesendet werden kann.",
            C::EmptyRequest => "Es wurden keine Artikel ausgewählt.",
            C::NotShipped => "Der Artikel wurde noch nicht versandt; Sie können ihn stattdessen stornieren oder ändern.",
            C::NothingToRefund => "Diese Bestellung wurde bereits vollständig zurückerstattet.",
            C::AlreadyFulfilled => "Die Bestellung wurde bereits versandt oder abgeschlossen.",
            C::StateNotAllowed => "Die Bestellung ist in einem Stadium, in dem dies nicht mehr möglich ist.",
            C::ReasonNotAllowed => "Aus dem angegebenen Grund können wir die Anfrage nicht online bearbeiten.",
            C::ChangeDisabled => "Diese Änderung ist online nicht möglich.",
            C::ModificationLimitReached => "Die Bestellung wurde bereits so oft wie möglich online geändert.",
            C::CountryChange => "Die Lieferadresse kann nicht in ein anderes Land geändert werden.",
            C::PriceDifference => "Der neue Artikel hat einen anderen Preis, daher ist die Änderung online nicht möglich.",
            C::AddressUndeliverable => "Die Post kann an diese Adresse nicht zustellen. Bitte prüfen Sie sie und senden Sie sie erneut.",
        }
    }

    fn tracking_status(&self, status: TrackingStatus) -> &'static str {
        match status {
            TrackingStatus::LabelCreated => "Versandbereit (Etikette erstellt)",
            TrackingStatus::PickedUp => "An den Paketdienst übergeben",
            TrackingStatus::InTransit => "Unterwegs",
            TrackingStatus::OutForDelivery => "In Zustellung",
            TrackingStatus::Delivered => "Zugestellt",
            TrackingStatus::DeliveryAttemptFailed => "Zustellversuch erfolglos",
            TrackingStatus::AvailableForPickup => "Zur Abholung bereit",
            TrackingStatus::CustomsHold => "Beim Zoll",
            TrackingStatus::AddressIssue => "Problem mit der Lieferadresse",
            TrackingStatus::Damaged => "Beim Transport beschädigt",
            TrackingStatus::Lost => "Vom Paketdienst als verloren gemeldet",
            TrackingStatus::ReturnedToSender => "Auf dem Rückweg zum Absender",
            TrackingStatus::Exception => "Der Paketdienst meldet ein Problem",
            TrackingStatus::Unknown => "Status noch nicht verfügbar",
        }
    }

    fn tender(&self, tender: Tender) -> &'static str {
        match tender {
            Tender::Card => "auf Ihre Karte",
            Tender::Paypal => "auf Ihr PayPal-Konto",
            Tender::Twint => "auf Ihr TWINT-Konto",
            Tender::BankTransfer => "auf Ihr Bankkonto",
            Tender::GiftCard => "auf Ihre Geschenkkarte",
            Tender::StoreCredit => "auf Ihr Kundenguthaben",
        }
    }

    fn unknown_carrier(&self) -> &'static str {
        "unbekannter Paketdienst"
    }

    fn original_payment_method(&self) -> &'static str {
        "auf Ihr ursprüngliches Zahlungsmittel"
    }

    fn refund_state(&self, state: RefundState) -> &'static str {
        match state {
            RefundState::Pending => "in Bearbeitung",
            RefundState::Succeeded => "abgeschlossen",
            RefundState::Failed => "nicht erfolgreich – wir kümmern uns darum",
        }
    }

    fn country(&self, iso_code: &str) -> Option<&'static str> {
        Some(match iso_code {
            "CH" => "Schweiz",
            "LI" => "Liechtenstein",
            "DE" => "Deutschland",
            "AT" => "Österreich",
            "FR" => "Frankreich",
            "IT" => "Italien",
            _ => return None,
        })
    }

    fn and(&self) -> &'static str {
        "und"
    }

    fn more(&self, count: usize) -> String {
        format!("{count} weitere")
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
        let r = render(&wismo_two_parcels(), Locale::De, Channel::Email, TZ);
        assert_eq!(r.subject.as_deref(), Some("Stand Ihrer Bestellung #1042"));
        assert_eq!(
            r.body,
            "Guten Tag\n\
            \n\
            Hier ist der aktuelle Stand Ihrer Bestellung #1042.\n\
            \n\
            Paket 1 von 2: Die Post, Sendungsnummer 99.00.123456.78901234\n\
            Inhalt: Merino Pullover und Trekking-Socken\n\
            Status: Unterwegs\n\
            Letzte Meldung: 22.10.2026, 14:05, Zürich-Mülligen – Sortierung\n\
            Voraussichtliche Zustellung: 24.10.2026 (pünktlich)\n\
            \n\
            Paket 2 von 2: DHL, Sendungsnummer JD014600003828\n\
            Inhalt: Daunenjacke Alpina\n\
            Status: Unterwegs\n\
            Letzte Meldung: 23.10.2026, 09:40, Basel – Ankunft im Verteilzentrum\n\
            Voraussichtliche Zustellung: 27.10.2026, 2 Tage später als zugesagt (25.10.2026). Bitte entschuldigen Sie die Verzögerung.\n\
            \n\
            Noch nicht versandt: Mütze Engadin. Wir informieren Sie, sobald diese Artikel unterwegs sind.\n\
            \n\
            Freundliche Grüsse\n\
            Ihr Kundendienst"
        );
    }

    #[test]
    fn return_authorised_by_sms() {
        let r = render(&return_authorised(), Locale::De, Channel::Sms, TZ);
        assert_eq!(
            r.body,
            "Ihre Rücksendung zur Bestellung #1042 ist bestätigt. Rücksendenummer: R-2026-0077.\n\
            Rücksendeetikette: https://labels.example.ch/r/2026-0077.pdf\n\
            Sobald die Artikel bei uns eingetroffen sind, erstatten wir Ihnen CHF 123.40 auf Ihr ursprüngliches Zahlungsmittel. Die Rücksendekosten von CHF 7.00 sind bereits abgezogen."
        );
    }

    #[test]
    fn return_denied_on_whatsapp() {
        let r = render(&return_denied(), Locale::De, Channel::Whatsapp, TZ);
        assert_eq!(
            r.body,
            "Leider können wir die Rücksendung von Daunenjacke Alpina aus der Bestellung #1042 nicht annehmen.\n\
            \n\
            - Die Rückgabefrist für diesen Artikel ist abgelaufen.\n\
            - Dieser Artikel wurde ohne Rückgaberecht verkauft.\n\
            \n\
            Bei Fragen antworten Sie einfach auf diese Nachricht."
        );
    }
}
