//! Italian: formal "Lei" (lower-case possessives, as is usual today).

use super::Templates;
use crate::domain::{RefundState, ResolutionKind, Tender, TrackingStatus};
use crate::flows::shipping::ExceptionKind;
use crate::replies::rendering::{explained, CustomerReason, Cx, ParcelView, Timing};
use crate::replies::{ChangeKind, HandoverTopic, Reply};

/// Italian words.
pub(super) struct Italian;

const CLOSING: &str = "Per qualsiasi domanda, risponda semplicemente a questo messaggio.";
const TEAM_REVIEWS: &str =
    "Un membro del nostro team esaminerà la sua richiesta e la ricontatterà.";
const SORRY_FOR_DELAY: &str = "Ci scusiamo per il ritardo.";

fn days(n: i64) -> String {
    if n == 1 {
        "1 giorno".to_owned()
    } else {
        format!("{n} giorni")
    }
}

fn timing(p: &ParcelView, compact: bool) -> Option<String> {
    match &p.timing {
        Timing::None => None,
        Timing::Expected { date } | Timing::OnTime { date } if compact => {
            Some(format!("consegna prevista il {date}"))
        }
        Timing::Expected { date } => Some(format!("Consegna prevista: {date}")),

        Timing::OnTime { date } => Some(format!("Consegna prevista: {date} (nei tempi previsti)")),
        Timing::Late {
            days: n,
            expected,
            promised,
        } => {
            if compact {
                let late = n.map_or("in ritardo".to_owned(), |n| {
                    format!("{} di ritardo", days(n))
                });
                return Some(match expected {
                    Some(e) => format!("consegna prevista il {e} ({late})"),
                    None => late,
                });
            }
            Some(match expected {
                Some(e) => {
                    let mut late = n.map_or("dopo la data promessa".to_owned(), |n| {
                        format!("{} dopo la data promessa", days(n))
                    });
                    if let Some(p) = promised {
                        late.push_str(&format!(" ({p})"));
                    }
                    format!("Consegna prevista: {e}, {late}. {SORRY_FOR_DELAY}")
                }
                None => {
                    let promised = promised
                        .as_ref()
                        .map(|p| format!(" (consegna promessa entro il {p})"))
                        .unwrap_or_default();
                    match n {
                        Some(n) => format!(
                            "Questo pacco ha {} di ritardo{promised}. {SORRY_FOR_DELAY}",
                            days(*n)
                        ),
                        None => {
                            format!("Questo pacco è in ritardo{promised}. {SORRY_FOR_DELAY}")
                        }
                    }
                }
            })
        }
    }
}

fn parcel_block(p: &ParcelView, index: usize, total: usize) -> String {
    let mut header = if total > 1 {
        format!("Pacco {index} di {total}: {}", p.carrier)
    } else {
        format!("Il suo pacco: {}", p.carrier)
    };
    match &p.tracking_number {
        Some(t) => header.push_str(&format!(", numero di tracciamento {t}")),
        None => header.push_str(" (numero di tracciamento non ancora disponibile)"),
    }
    let mut lines = vec![header];
    if let Some(items) = &p.items {
        lines.push(format!("Contenuto: {items}"));
    }
    match &p.delivered_at {
        Some(at) => lines.push(format!("Stato: {} ({at})", p.status)),
        None => lines.push(format!("Stato: {}", p.status)),
    }
    if let Some(scan) = &p.last_scan {
        let mut line = format!("Ultimo aggiornamento: {}", scan.at);
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
        lines.push("Ce ne stiamo già occupando.".to_owned());
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
        line.push_str(&format!(" Ultimo aggiornamento: {}", scan.at));
        if let Some(place) = &scan.place {
            line.push_str(&format!(", {place}"));
        }
        line.push('.');
    }
    match &p.tracking_number {
        Some(t) => line.push_str(&format!(" Tracciamento: {t} ({}).", p.carrier)),
        None => line.push_str(&format!(
            " {}, numero di tracciamento non ancora disponibile.",
            p.carrier
        )),
    }
    if p.being_investigated {
        line.push_str(" Ce ne stiamo occupando.");
    }
    line
}

fn exception_sentence(kind: ExceptionKind) -> &'static str {
    match kind {
        ExceptionKind::Delayed => "Purtroppo la sua consegna è in ritardo.",
        ExceptionKind::Lost => "Da qualche tempo il corriere non segnala progressi del suo pacco, che potrebbe essere andato perso. Stiamo verificando con il corriere e la ricontatteremo.",
        ExceptionKind::CustomsHold => "Il suo pacco è attualmente fermo in dogana. Ce ne stiamo occupando e la informeremo se avremo bisogno di qualcosa da lei.",
        ExceptionKind::AddressIssue => "Il corriere non riesce a consegnare il pacco all'indirizzo indicato. Verifichi il suo indirizzo di consegna e risponda a questo messaggio se deve essere corretto.",
        ExceptionKind::Damaged => "Il suo pacco è stato danneggiato durante il trasporto. Ci dispiace molto – il nostro team la contatterà per i prossimi passi.",
        ExceptionKind::ReturnedToSender => "Il suo pacco sta tornando da noi. Il nostro team la contatterà per i prossimi passi.",
        ExceptionKind::CarrierException => "Il corriere ha segnalato un problema con il suo pacco. Ce ne stiamo occupando e le daremo aggiornamenti.",
        ExceptionKind::SplitShipment => "Il suo ordine viene spedito in più pacchi, che potrebbero arrivare in giorni diversi.",
        ExceptionKind::Substitution => "Un articolo del suo ordine non era più disponibile ed è stato sostituito con un articolo equivalente.",
    }
}

fn handover_sentence(topic: HandoverTopic) -> &'static str {
    match topic {
        HandoverTopic::PolicyReview => {
            "Un membro del nostro team esaminerà personalmente la sua richiesta e la ricontatterà."
        }
        HandoverTopic::RefundApproval => {
            "Un membro del nostro team verificherà il suo rimborso e la ricontatterà."
        }
        HandoverTopic::CustomerRequest => {
            "Abbiamo inoltrato il suo messaggio a un membro del nostro team, che la ricontatterà."
        }
        HandoverTopic::Complaint => {
            "Ci dispiace molto. Un membro del nostro team se ne occuperà personalmente e la ricontatterà."
        }
        HandoverTopic::NotUnderstood => {
            "Ci scusi, non abbiamo compreso bene il suo messaggio. Un membro del nostro team la ricontatterà."
        }
        HandoverTopic::ShippingException => {
            "Un membro del nostro team sta verificando il problema di consegna e la ricontatterà."
        }
    }
}

impl Templates for Italian {
    fn greeting(&self) -> &'static str {
        "Buongiorno,"
    }

    fn sign_off(&self) -> &'static str {
        "Cordiali saluti\nIl servizio clienti"
    }

    fn subject(&self, reply: &Reply, cx: &Cx) -> String {
        match reply {
            Reply::AskVerification { .. } => "Confermi i dati del suo ordine".to_owned(),
            Reply::NotVerified => "Non abbiamo trovato il suo ordine".to_owned(),
            Reply::VerificationLocked => "Ricerca ordini sospesa".to_owned(),
            Reply::AskWhichOrder { .. } => "A quale ordine si riferisce?".to_owned(),
            Reply::OrderStatus { order_number, .. } => {
                format!("Stato del suo ordine {}", cx.order(order_number))
            }
            Reply::AskReturnDetails { order_number, .. } => {
                format!("Il suo reso per l'ordine {}", cx.order(order_number))
            }
            Reply::ReturnAuthorised { order_number, .. } => format!(
                "Il suo reso per l'ordine {} è confermato",
                cx.order(order_number)
            ),
            Reply::ReturnDenied { order_number, .. } => format!(
                "La sua richiesta di reso per l'ordine {}",
                cx.order(order_number)
            ),
            Reply::HandedToHuman {
                ticket_reference, ..
            } => match ticket_reference.as_deref().map(|t| cx.text(t)) {
                Some(t) if !t.is_empty() => {
                    format!("Ci stiamo occupando della sua richiesta (rif. {t})")
                }
                _ => "Ci stiamo occupando della sua richiesta".to_owned(),
            },
            Reply::ReturnReceived { order_number, .. } => format!(
                "Abbiamo ricevuto il suo reso per l'ordine {}",
                cx.order(order_number)
            ),
            Reply::RefundIssued { order_number, .. } => {
                format!("Rimborso per l'ordine {}", cx.order(order_number))
            }
            Reply::RefundStatus { order_number, .. } => {
                format!("Stato del rimborso per l'ordine {}", cx.order(order_number))
            }
            Reply::OrderCancelled { order_number, .. } => {
                format!("Il suo ordine {} è stato annullato", cx.order(order_number))
            }
            Reply::AddressChanged { order_number, .. } => format!(
                "Nuovo indirizzo di consegna per l'ordine {}",
                cx.order(order_number)
            ),
            Reply::ItemsModified { order_number } => {
                format!(
                    "Il suo ordine {} è stato modificato",
                    cx.order(order_number)
                )
            }
            Reply::ChangeDenied { order_number, .. } => format!(
                "La sua richiesta di modifica per l'ordine {}",
                cx.order(order_number)
            ),
            Reply::ExceptionNotice { order_number, .. } => {
                format!("Aggiornamento sul suo ordine {}", cx.order(order_number))
            }
            Reply::PolicySummary { .. } => "La nostra politica di reso".to_owned(),
            Reply::SystemUnavailable | Reply::Clarify => "La sua richiesta".to_owned(),
        }
    }

    fn body(&self, reply: &Reply, cx: &Cx) -> Vec<String> {
        match reply {
            Reply::AskVerification { order_number } => vec![match order_number {
                Some(n) => format!(
                    "Per trovare l'ordine {}, ci invii l'indirizzo e-mail e il codice postale indicati nell'ordine.",
                    cx.order(n)
                ),
                None => "Per trovare il suo ordine, ci invii il numero d'ordine insieme all'indirizzo e-mail e al codice postale indicati nell'ordine.".to_owned(),
            }],
            Reply::NotVerified => vec![
                "Non abbiamo trovato nessun ordine corrispondente a questi dati. Verifichi il numero d'ordine, l'indirizzo e-mail e il codice postale e riprovi.".to_owned(),
            ],
            Reply::VerificationLocked => vec![
                "Per la sua sicurezza, dopo diversi tentativi non riusciti abbiamo sospeso temporaneamente la ricerca degli ordini. Riprovi più tardi.".to_owned(),
            ],
            Reply::AskWhichOrder { candidates } => {
                if candidates.is_empty() {
                    return vec!["A quale ordine si riferisce? Ci invii il numero d'ordine.".to_owned()];
                }
                if cx.compact {
                    let orders = cx.join(
                        candidates
                            .iter()
                            .map(|c| format!("{} ({})", cx.order(&c.number), cx.day(c.placed_at)))
                            .collect(),
                    );
                    return vec![format!(
                        "Abbiamo trovato più ordini: {orders}. A quale si riferisce? Risponda con il numero d'ordine."
                    )];
                }
                let lines: Vec<String> = candidates
                    .iter()
                    .map(|c| {
                        let mut line = format!("- {} del {}", cx.order(&c.number), cx.day(c.placed_at));
                        if let Some(items) = cx.list(&c.items) {
                            line.push_str(&format!(": {items}"));
                        }
                        line
                    })
                    .collect();
                vec![
                    "Abbiamo trovato più ordini. A quale si riferisce?".to_owned(),
                    lines.join("\n"),
                    "Risponda con il numero d'ordine.".to_owned(),
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
                        "Il suo ordine {n} è in preparazione e non è ancora stato spedito. La informeremo non appena sarà in viaggio."
                    )];
                }
                let mut blocks = vec![if cx.compact {
                    format!("Ordine {n}:")
                } else {
                    format!("Ecco lo stato attuale del suo ordine {n}.")
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
                        format!("Articoli non ancora spediti: {items}.")
                    } else {
                        format!("Articoli non ancora spediti: {items}. La informeremo non appena saranno in viaggio.")
                    });
                }
                blocks
            }
            Reply::AskReturnDetails {
                order_number,
                items,
            } => {
                let mut text = format!(
                    "Quali articoli dell'ordine {} desidera restituire, e per quale motivo?",
                    cx.order(order_number)
                );
                if let Some(items) = cx.list(items) {
                    text.push_str(&format!(" Articoli che possono essere restituiti: {items}."));
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
                    "Il suo reso per l'ordine {} è confermato. Numero di reso: {}.",
                    cx.order(order_number),
                    cx.text(return_id.as_str())
                );
                if !cx.compact {
                    if let Some(items) = cx.list(items) {
                        first.push_str(&format!(" Articoli: {items}."));
                    }
                }
                let label = match cx.label_url(label_url.as_ref()) {
                    Some(url) if cx.compact => format!("Etichetta di reso: {url}"),
                    Some(url) => format!("Stampi l'etichetta di reso e la applichi sul pacco: {url}"),
                    None => "Le invieremo l'etichetta di reso separatamente.".to_owned(),
                };
                let after = if *inspection_required {
                    "Non appena avremo ricevuto e controllato gli articoli"
                } else {
                    "Non appena avremo ricevuto gli articoli"
                };
                let estimate = refund_estimate.filter(|m| m.is_positive());
                let mut money = match (resolution, estimate) {
                    (ResolutionKind::Refund, Some(m)) => format!(
                        "{after}, le rimborseremo {} sul metodo di pagamento originale.",
                        cx.money(m)
                    ),
                    (ResolutionKind::Refund, None) => format!(
                        "{after}, effettueremo il rimborso sul metodo di pagamento originale."
                    ),
                    (ResolutionKind::StoreCredit, Some(m)) => {
                        format!("{after}, riceverà {} come buono.", cx.money(m))
                    }
                    (ResolutionKind::StoreCredit, None) => {
                        format!("{after}, riceverà un buono corrispondente.")
                    }
                    (ResolutionKind::Exchange, Some(m)) => format!(
                        "{after}, le invieremo l'articolo sostitutivo e le rimborseremo {}.",
                        cx.money(m)
                    ),
                    (ResolutionKind::Exchange, None) => {
                        format!("{after}, le invieremo l'articolo sostitutivo.")
                    }
                };
                if let Some(fee) = return_shipping_fee.filter(|m| m.is_positive()) {
                    let fee = cx.money(fee);
                    money.push_str(&if estimate.is_some() {
                        format!(" Le spese di reso di {fee} sono già state detratte.")
                    } else {
                        format!(" Per il reso si applicano spese di {fee}.")
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
                    Some(items) => format!("il reso di {items} dell'ordine {n}"),
                    None => format!("il suo reso dell'ordine {n}"),
                };
                let sentences = cx.reasons(reasons);
                if sentences.is_empty() {
                    return vec![format!(
                        "Non possiamo approvare automaticamente {what}. {TEAM_REVIEWS}"
                    )];
                }
                let intro = format!("Purtroppo non possiamo accettare {what}.");
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
                        text.push_str(&format!(" Il suo riferimento: {t}."));
                    }
                }
                vec![text]
            }
            Reply::ReturnReceived {
                order_number,
                awaiting_inspection,
            } => {
                let next = if *awaiting_inspection {
                    "Ora controlliamo gli articoli; il rimborso seguirà non appena avremo finito."
                } else {
                    "Completeremo il suo reso a breve."
                };
                vec![format!(
                    "Abbiamo ricevuto il suo reso per l'ordine {}. {next}",
                    cx.order(order_number)
                )]
            }
            Reply::RefundIssued {
                order_number,
                amount,
                tenders,
            } => {
                let mut text = format!(
                    "Le abbiamo rimborsato {} per l'ordine {} {}.",
                    cx.money(*amount),
                    cx.order(order_number),
                    cx.tenders(tenders)
                );
                if cx.reaches_a_bank(tenders) {
                    text.push_str(" A seconda della banca, potrebbero volerci alcuni giorni lavorativi prima che l'importo sia visibile.");
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
                    blocks.push(format!("Per l'ordine {n} non è ancora stato effettuato alcun rimborso."));
                } else {
                    let lines: Vec<String> = refunds
                        .iter()
                        .map(|r| {
                            format!(
                                "- {} del {}: {}",
                                cx.money(r.amount),
                                cx.day(r.created_at),
                                self.refund_state(r.state)
                            )
                        })
                        .collect();
                    blocks.push(format!("Rimborsi per l'ordine {n}:\n{}", lines.join("\n")));
                }
                if *return_in_progress {
                    blocks.push(
                        "Il suo reso è in viaggio verso di noi o in fase di controllo. La rimborseremo non appena avremo finito.".to_owned(),
                    );
                } else if refunds.is_empty() {
                    blocks.push("Se desidera restituire qualcosa, ce lo faccia sapere.".to_owned());
                }
                blocks
            }
            Reply::OrderCancelled {
                order_number,
                refund,
            } => {
                let mut text = format!("Il suo ordine {} è stato annullato.", cx.order(order_number));
                if let Some(m) = refund.filter(|m| m.is_positive()) {
                    text.push_str(&format!(
                        " Le rimborseremo {} sul metodo di pagamento originale.",
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
                        "Il nuovo indirizzo di consegna dell'ordine {n} è: {}.",
                        lines.join(", ")
                    )]
                } else {
                    vec![format!(
                        "Il nuovo indirizzo di consegna dell'ordine {n} è:\n{}",
                        lines.join("\n")
                    )]
                }
            }
            Reply::ItemsModified { order_number } => vec![format!(
                "Gli articoli del suo ordine {} sono stati modificati come richiesto.",
                cx.order(order_number)
            )],
            Reply::ChangeDenied {
                order_number,
                change,
                reasons,
            } => {
                let n = cx.order(order_number);
                let what = match change {
                    ChangeKind::Cancel => format!("annullare l'ordine {n}"),
                    ChangeKind::Address => format!("modificare l'indirizzo di consegna dell'ordine {n}"),
                    ChangeKind::Items => format!("modificare gli articoli dell'ordine {n}"),
                };
                let sentences = cx.reasons(reasons);
                if sentences.is_empty() {
                    return vec![format!(
                        "Non è stato possibile {what} automaticamente. {TEAM_REVIEWS}"
                    )];
                }
                let mut blocks = explained(
                    format!("Purtroppo non è stato possibile {what}."),
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
                let intro = format!("Abbiamo un aggiornamento sul suo ordine {n}.");
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
                    "Può restituire gli articoli entro {} dalla consegna.",
                    days(*window_days)
                );
                match return_shipping_fee.filter(|m| m.is_positive()) {
                    Some(fee) => text.push_str(&format!(
                        " Le spese di reso di {} vengono detratte dal rimborso.",
                        cx.money(fee)
                    )),
                    None => text.push_str(" Il reso è gratuito."),
                }
                text.push_str(" Alcuni articoli, ad esempio articoli igienici o venduti senza possibilità di reso, non possono essere restituiti.");
                if !cx.compact {
                    text.push_str(" Per avviare un reso, ci invii semplicemente il numero d'ordine.");
                }
                vec![text]
            }
            Reply::SystemUnavailable => vec![
                "Ci scusi, al momento non possiamo accedere ai nostri sistemi. Un membro del nostro team la ricontatterà il prima possibile.".to_owned(),
            ],
            Reply::Clarify => vec![
                "Potrebbe dirci qualcosa di più su ciò di cui ha bisogno? Ad esempio il numero d'ordine e se si tratta di una consegna, di un reso o di un rimborso.".to_owned(),
            ],
        }
    }

    fn reason(&self, reason: CustomerReason) -> &'static str {
        use CustomerReason as C;
        match reason {
            C::WindowExpired => "Il periodo di reso per questo articolo è scaduto.",
            C::FinalSale => "Questo articolo è stato venduto senza possibilità di reso.",
            C::WarrantyClaim => "Un articolo difettoso viene gestito come caso di garanzia; il nostro team la contatterà in merito.",
            C::Hygiene => "Per motivi igienici questo articolo non può essere restituito.",
            C::NotReturnable => "Questo articolo è escluso dai resi.",
            C::ResolutionNotAllowed => "L'opzione scelta (rimborso, buono o cambio) non è disponibile per questo articolo.",
            C::ExchangeUnavailable => "L'articolo desiderato in cambio non è disponibile.",
            C::GiftCardInsufficient => "Il saldo della carta regalo non copre la differenza di prezzo.",
            C::UnknownLine => "Non abbiamo trovato questo articolo nell'ordine.",
            C::QuantityExceeded => "La quantità supera quella che può ancora essere restituita.",
            C::EmptyRequest => "Non è stato selezionato alcun articolo.",
            C::NotShipped => "L'articolo non è ancora stato spedito; può invece annullarlo o modificarlo.",
            C::NothingToRefund => "Questo ordine è già stato rimborsato interamente.",
            C::AlreadyFulfilled => "L'ordine è già stato spedito o chiuso.",
            C::StateNotAllowed => "L'ordine si trova in una fase in cui ciò non è più possibile.",
            C::ReasonNotAllowed => "Per il motivo indicato non possiamo gestire la richiesta online.",
            C::ChangeDisabled => "Questa modifica non è possibile online.",
            C::ModificationLimitReached => "L'ordine è già stato modificato online il numero massimo di volte.",
            C::CountryChange => "L'indirizzo di consegna non può essere cambiato in un altro paese.",
            C::PriceDifference => "Il nuovo articolo ha un prezzo diverso, quindi la modifica non è possibile online.",
            C::AddressUndeliverable => "Il corriere non può consegnare a questo indirizzo. La preghiamo di verificarlo e di inviarcelo di nuovo.",
        }
    }

    fn tracking_status(&self, status: TrackingStatus) -> &'static str {
        match status {
            TrackingStatus::LabelCreated => "Pronto per la spedizione (etichetta creata)",
            TrackingStatus::PickedUp => "Consegnato al corriere",
            TrackingStatus::InTransit => "In transito",
            TrackingStatus::OutForDelivery => "In consegna",
            TrackingStatus::Delivered => "Consegnato",
            TrackingStatus::DeliveryAttemptFailed => "Tentativo di consegna non riuscito",
            TrackingStatus::AvailableForPickup => "Disponibile per il ritiro",
            TrackingStatus::CustomsHold => "Fermo in dogana",
            TrackingStatus::AddressIssue => "Problema con l'indirizzo di consegna",
            TrackingStatus::Damaged => "Danneggiato durante il trasporto",
            TrackingStatus::Lost => "Dichiarato smarrito dal corriere",
            TrackingStatus::ReturnedToSender => "In ritorno al mittente",
            TrackingStatus::Exception => "Il corriere segnala un problema",
            TrackingStatus::Unknown => "Stato non ancora disponibile",
        }
    }

    fn tender(&self, tender: Tender) -> &'static str {
        match tender {
            Tender::Card => "sulla sua carta",
            Tender::Paypal => "sul suo conto PayPal",
            Tender::Twint => "sul suo conto TWINT",
            Tender::BankTransfer => "sul suo conto bancario",
            Tender::GiftCard => "sulla sua carta regalo",
            Tender::StoreCredit => "sul suo credito cliente",
        }
    }

    fn unknown_carrier(&self) -> &'static str {
        "corriere sconosciuto"
    }

    fn original_payment_method(&self) -> &'static str {
        "sul metodo di pagamento originale"
    }

    fn refund_state(&self, state: RefundState) -> &'static str {
        match state {
            RefundState::Pending => "in corso",
            RefundState::Succeeded => "completato",
            RefundState::Failed => "non riuscito – ce ne stiamo occupando",
        }
    }

    fn country(&self, iso_code: &str) -> Option<&'static str> {
        Some(match iso_code {
            "CH" => "Svizzera",
            "LI" => "Liechtenstein",
            "DE" => "Germania",
            "AT" => "Austria",
            "FR" => "Francia",
            "IT" => "Italia",
            _ => return None,
        })
    }

    fn and(&self) -> &'static str {
        "e"
    }

    fn more(&self, count: usize) -> String {
        format!("altri {count}")
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
        let r = render(&wismo_two_parcels(), Locale::It, Channel::Email, TZ);
        assert_eq!(r.subject.as_deref(), Some("Stato del suo ordine #1042"));
        assert_eq!(
            r.body,
            "Buongiorno,\n\
            \n\
            Ecco lo stato attuale del suo ordine #1042.\n\
            \n\
            Pacco 1 di 2: La Posta, numero di tracciamento 99.00.123456.78901234\n\
            Contenuto: Merino Pullover e Trekking-Socken\n\
            Stato: In transito\n\
            Ultimo aggiornamento: 22/10/2026, ore 14:05, Zürich-Mülligen – Sortierung\n\
            Consegna prevista: 24/10/2026 (nei tempi previsti)\n\
            \n\
            Pacco 2 di 2: DHL, numero di tracciamento JD014600003828\n\
            Contenuto: Daunenjacke Alpina\n\
            Stato: In transito\n\
            Ultimo aggiornamento: 23/10/2026, ore 09:40, Basel – Ankunft im Verteilzentrum\n\
            Consegna prevista: 27/10/2026, 2 giorni dopo la data promessa (25/10/2026). Ci scusiamo per il ritardo.\n\
            \n\
            Articoli non ancora spediti: Mütze Engadin. La informeremo non appena saranno in viaggio.\n\
            \n\
            Cordiali saluti\n\
            Il servizio clienti"
        );
    }

    #[test]
    fn return_authorised_by_sms() {
        let r = render(&return_authorised(), Locale::It, Channel::Sms, TZ);
        assert_eq!(
            r.body,
            "Il suo reso per l'ordine #1042 è confermato. Numero di reso: R-2026-0077.\n\
            Etichetta di reso: https://labels.example.ch/r/2026-0077.pdf\n\
            Non appena avremo ricevuto gli articoli, le rimborseremo CHF 123.40 sul metodo di pagamento originale. Le spese di reso di CHF 7.00 sono già state detratte."
        );
    }

    #[test]
    fn return_denied_on_whatsapp() {
        let r = render(&return_denied(), Locale::It, Channel::Whatsapp, TZ);
        assert_eq!(
            r.body,
            "Purtroppo non possiamo accettare il reso di Daunenjacke Alpina dell'ordine #1042.\n\
            \n\
            - Il periodo di reso per questo articolo è scaduto.\n\
            - Questo articolo è stato venduto senza possibilità di reso.\n\
            \n\
            Per qualsiasi domanda, risponda semplicemente a questo messaggio."
        );
    }
}
