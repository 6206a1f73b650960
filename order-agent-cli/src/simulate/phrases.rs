//! How simulated customers write, in English, German, French and Italian: several phrasings per
//! request, as people actually type them, with or without the order number and identity details.

use order_agent_core::domain::{Locale, ReturnReason};

use super::rng::Rng;

/// What a customer writes about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Topic {
    /// Where is my order.
    Wismo,
    /// Return an item for a refund.
    Return,
    /// Exchange an item for another size.
    Exchange,
    /// Cancel an order.
    Cancel,
    /// Change the delivery address.
    AddressChange,
    /// Where is my refund.
    RefundStatus,
    /// A general question (return policy).
    Question,
    /// A complaint.
    Complaint,
    /// Asks for a person.
    Human,
}

fn lang(locale: Locale) -> usize {
    match locale {
        Locale::En => 0,
        Locale::De => 1,
        Locale::Fr => 2,
        Locale::It => 3,
    }
}

fn fill(template: &str, order: &str, item: &str, size: &str) -> String {
    template
        .replace("{order}", order)
        .replace("{item}", item)
        .replace("{size}", size)
}

/// Greeting, or nothing.
fn greeting(rng: &mut Rng, locale: Locale) -> &'static str {
    let options: &[&str] = match locale {
        Locale::En => &["", "Hi, ", "Hello, ", "Good morning, "],
        Locale::De => &["", "Grüezi, ", "Hallo, ", "Guten Tag, "],
        Locale::Fr => &["", "Bonjour, ", "Bonsoir, "],
        Locale::It => &["", "Buongiorno, ", "Salve, ", "Ciao, "],
    };
    rng.pick(options).copied().unwrap_or("")
}

/// The opening message of a contact. `order` is the order number as the customer writes it
/// (empty when they do not give one); `item` the word or title they use for the item.
pub(crate) fn opening(
    rng: &mut Rng,
    locale: Locale,
    topic: Topic,
    order: &str,
    item: &str,
    size: &str,
) -> String {
    opening_avoiding(rng, locale, topic, order, item, size, "")
}

/// Like [`opening`], but in other words than `said` when there are other words: asked what they
/// mean, people do not repeat themselves word for word.
pub(crate) fn opening_avoiding(
    rng: &mut Rng,
    locale: Locale,
    topic: Topic,
    order: &str,
    item: &str,
    size: &str,
    said: &str,
) -> String {
    let with_order = !order.is_empty();
    let templates: &[&str] = match (topic, lang(locale), with_order) {
        (Topic::Wismo, 0, true) => &[
            "where is my order {order}?",
            "my order {order} still hasn't arrived. Can you check?",
            "can you tell me when order {order} will be delivered?",
            "I'm still waiting for my package, order {order}.",
        ],
        (Topic::Wismo, 0, false) => &["where is my order? It still hasn't arrived.", "where is my package?"],
        (Topic::Wismo, 1, true) => &[
            "wo ist meine Bestellung {order}?",
            "meine Bestellung {order} ist noch nicht angekommen. Können Sie nachschauen?",
            "wann kommt mein Paket? Bestellung {order}.",
            "ich warte immer noch auf meine Bestellung {order}.",
        ],
        (Topic::Wismo, 1, false) => &["wo ist meine Bestellung? Ich warte schon lange.", "wo bleibt mein Paket?"],
        (Topic::Wismo, 2, true) => &[
            "où est ma commande {order} ?",
            "ma commande {order} n'est toujours pas arrivée, pouvez-vous vérifier ?",
            "quand est-ce que ma commande {order} sera livrée ?",
            "j'attends toujours mon colis, commande {order}.",
        ],
        (Topic::Wismo, 2, false) => &["où est ma commande ? Je l'attends depuis une semaine.", "où est mon colis ?"],
        (Topic::Wismo, _, true) => &[
            "dov'è il mio ordine {order}?",
            "il mio ordine {order} non è ancora arrivato. Potete controllare?",
            "quando arriva il pacco dell'ordine {order}?",
            "sto ancora aspettando il mio pacco, ordine {order}.",
        ],
        (Topic::Wismo, _, false) => &["dov'è il mio ordine? Lo aspetto da una settimana.", "dov'è il mio pacco?"],
        (Topic::Return, 0, _) => &[
            "I'd like to return the {item} from order {order}.",
            "I want to send back the {item}, order {order}.",
            "how do I return the {item}? Order {order}.",
        ],
        (Topic::Return, 1, _) => &[
            "ich möchte {item} aus der Bestellung {order} zurückschicken.",
            "ich würde gerne {item} retournieren, Bestellung {order}.",
            "wie kann ich {item} zurücksenden? Bestellung {order}.",
        ],
        (Topic::Return, 2, _) => &[
            "je voudrais retourner {item} de la commande {order}.",
            "je souhaite renvoyer {item}, commande {order}.",
        ],
        (Topic::Return, _, _) => &[
            "vorrei restituire {item} dell'ordine {order}.",
            "vorrei fare il reso di {item}, ordine {order}.",
        ],
        (Topic::Exchange, 0, _) => &[
            "can I exchange the {item} for size {size}? Order {order}.",
            "the {item} is too small, can I swap it for a {size}? Order {order}.",
        ],
        (Topic::Exchange, 1, _) => &[
            "kann ich {item} gegen Grösse {size} umtauschen? Bestellung {order}.",
            "ich möchte {item} in Grösse {size} umtauschen, Bestellung {order}.",
        ],
        (Topic::Exchange, 2, _) => &[
            "puis-je échanger {item} contre la taille {size} ? Commande {order}.",
            "je voudrais échanger {item} pour une taille {size}, commande {order}.",
        ],
        (Topic::Exchange, _, _) => &[
            "posso scambiare {item} con la taglia {size}? Ordine {order}.",
            "vorrei cambiare {item} con una taglia {size}, ordine {order}.",
        ],
        (Topic::Cancel, 0, _) => &[
            "please cancel my order {order}.",
            "I ordered by mistake, can you cancel order {order}?",
            "I'd like to cancel order {order}, I don't need it anymore.",
        ],
        (Topic::Cancel, 1, _) => &[
            "bitte stornieren Sie meine Bestellung {order}.",
            "ich möchte die Bestellung {order} stornieren.",
        ],
        (Topic::Cancel, 2, _) => &[
            "merci d'annuler ma commande {order}.",
            "je voudrais annuler la commande {order}, s'il vous plaît.",
        ],
        (Topic::Cancel, _, _) => &[
            "vorrei annullare il mio ordine {order}.",
            "potete annullare l'ordine {order}? Grazie.",
        ],
        (Topic::AddressChange, 0, _) => &[
            "I moved, please ship order {order} to my new address.",
            "can you change the delivery address of order {order}? I gave the wrong street.",
        ],
        (Topic::AddressChange, 1, _) => &[
            "bitte ändern Sie die Lieferadresse für Bestellung {order}, ich bin umgezogen.",
            "kann ich die Lieferadresse der Bestellung {order} noch ändern?",
        ],
        (Topic::AddressChange, 2, _) => &[
            "pouvez-vous changer l'adresse de livraison de la commande {order} ?",
            "j'ai déménagé, merci de modifier l'adresse de livraison, commande {order}.",
        ],
        (Topic::AddressChange, _, _) => &[
            "potete cambiare l'indirizzo di consegna dell'ordine {order}?",
            "ho sbagliato indirizzo, potete modificare l'indirizzo di consegna? Ordine {order}.",
        ],
        (Topic::RefundStatus, 0, _) => &[
            "where is my refund? I sent the {item} back. Order {order}.",
            "I returned order {order} last week, when do I get my money back?",
        ],
        (Topic::RefundStatus, 1, _) => &[
            "wo bleibt meine Rückerstattung? Bestellung {order}.",
            "ich habe die Rücksendung geschickt, wann bekomme ich mein Geld zurück? Bestellung {order}.",
        ],
        (Topic::RefundStatus, 2, _) => &[
            "où en est mon remboursement ? Commande {order}.",
            "j'ai renvoyé le colis, quand serai-je remboursé ? Commande {order}.",
        ],
        (Topic::RefundStatus, _, _) => &[
            "non ho ancora ricevuto il rimborso dell'ordine {order}.",
            "quando arriva il rimborso? Ordine {order}.",
        ],
        (Topic::Question, 0, _) => &[
            "what is your return policy?",
            "how many days do I have to return something?",
            "do I have to pay for return shipping?",
        ],
        (Topic::Question, 1, _) => &[
            "wie lange habe ich Zeit, um etwas zurückzugeben?",
            "was kostet eine Rücksendung?",
        ],
        (Topic::Question, 2, _) => &[
            "combien de jours ai-je pour retourner un article ?",
            "quelle est votre politique de retour ?",
        ],
        (Topic::Question, _, _) => &["quanti giorni ho per il reso?", "qual è la vostra politica di reso?"],
        (Topic::Complaint, 0, _) => &[
            "I want to file a complaint, this is unacceptable. Order {order}.",
            "this is the second time my delivery is a mess. I want to complain. Order {order}.",
        ],
        (Topic::Complaint, 1, _) => &[
            "ich möchte mich beschweren, das ist eine Frechheit. Bestellung {order}.",
            "ich bin sehr unzufrieden und möchte mich beschweren. Bestellung {order}.",
        ],
        (Topic::Complaint, 2, _) => &[
            "je veux déposer une plainte, c'est inadmissible. Commande {order}.",
            "je suis très mécontent, je veux faire une réclamation. Commande {order}.",
        ],
        (Topic::Complaint, _, _) => &[
            "voglio fare un reclamo, è inaccettabile. Ordine {order}.",
            "sono molto deluso, voglio presentare un reclamo. Ordine {order}.",
        ],
        (Topic::Human, 0, _) => &["I want to speak to a real person.", "can I talk to someone from customer service?"],
        (Topic::Human, 1, _) => &["ich möchte mit einem Mitarbeiter sprechen.", "kann ich bitte mit einem Menschen reden?"],
        (Topic::Human, 2, _) => &["je veux parler à un conseiller.", "je voudrais parler à quelqu'un du service client."],
        (Topic::Human, _, _) => &["voglio parlare con un operatore.", "posso parlare con una persona?"],
    };
    let mut template = rng.pick(templates).copied().unwrap_or("");
    for _ in 0..6 {
        let core = fill(template, order, item, size);
        let head: String = core.chars().skip(1).take(20).collect();
        if said.is_empty() || !said.contains(&head) {
            break;
        }
        template = rng.pick(templates).copied().unwrap_or("");
    }
    let text = if with_order {
        fill(template, order, item, size)
    } else {
        // Without the number, the words that would carry it go too.
        let mut bare = template.to_owned();
        for pattern in [
            " from order {order}",
            " aus der Bestellung {order}",
            " de la commande {order}",
            " dell'ordine {order}",
            ", order {order}",
            ", Bestellung {order}",
            ", commande {order}",
            ", ordine {order}",
            " Order {order}.",
            " Bestellung {order}.",
            " Commande {order}.",
            " Ordine {order}.",
            " {order}",
        ] {
            bare = bare.replace(pattern, "");
        }
        fill(&bare, order, item, size)
    };
    capitalise(&format!("{}{text}", greeting(rng, locale)))
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Why the item goes back, as the customer says it.
pub(crate) fn reason(rng: &mut Rng, locale: Locale, reason: ReturnReason) -> String {
    let options: &[&str] = match (reason, lang(locale)) {
        (ReturnReason::DoesNotFit, 0) => &["It's too small.", "It doesn't fit.", "It is too big."],
        (ReturnReason::DoesNotFit, 1) => {
            &["Es ist zu klein.", "Es passt leider nicht.", "Zu gross."]
        }
        (ReturnReason::DoesNotFit, 2) => &[
            "C'est trop petit.",
            "La taille ne va pas.",
            "C'est trop grand.",
        ],
        (ReturnReason::DoesNotFit, _) => &[
            "È troppo piccolo.",
            "La taglia non va bene.",
            "È troppo grande.",
        ],
        (ReturnReason::Damaged, 0) => &["It arrived damaged.", "It arrived broken."],
        (ReturnReason::Damaged, 1) => &["Es ist kaputt angekommen.", "Es war beschädigt."],
        (ReturnReason::Damaged, 2) => &["Il est arrivé cassé.", "Il est arrivé abîmé."],
        (ReturnReason::Damaged, _) => &["È arrivato rotto.", "È arrivato danneggiato."],
        (ReturnReason::Defective, 0) => {
            &["It does not work.", "It stopped working after two days."]
        }
        (ReturnReason::Defective, 1) => &["Es funktioniert nicht.", "Es ist defekt."],
        (ReturnReason::Defective, 2) => &["Il ne fonctionne pas.", "Il est défectueux."],
        (ReturnReason::Defective, _) => &["Non funziona.", "È difettoso."],
        (ReturnReason::WrongItem, 0) => {
            &["I received the wrong item.", "You sent me the wrong item."]
        }
        (ReturnReason::WrongItem, 1) => &[
            "Falscher Artikel geliefert.",
            "Sie haben mir den falschen Artikel geschickt.",
        ],
        (ReturnReason::WrongItem, 2) => &[
            "J'ai reçu le mauvais article.",
            "Ce n'est pas le bon article.",
        ],
        (ReturnReason::WrongItem, _) => &[
            "Ho ricevuto un articolo sbagliato.",
            "Non è l'articolo che ho ordinato.",
        ],
        (ReturnReason::NotAsDescribed, 0) => &[
            "It is not as described.",
            "It looks different from the photos.",
        ],
        (ReturnReason::NotAsDescribed, 1) => &[
            "Entspricht nicht der Beschreibung.",
            "Sieht anders aus als auf den Fotos.",
        ],
        (ReturnReason::NotAsDescribed, 2) => &[
            "Il ne correspond pas à la description.",
            "Il est différent des photos.",
        ],
        (ReturnReason::NotAsDescribed, _) => {
            &["Non corrisponde alla descrizione.", "È diverso dalle foto."]
        }
        (_, 0) => &["I changed my mind.", "I don't like it."],
        (_, 1) => &["Gefällt mir nicht.", "Ich habe es mir anders überlegt."],
        (_, 2) => &["J'ai changé d'avis.", "Ça ne me plaît pas."],
        (_, _) => &["Ho cambiato idea.", "Non mi piace."],
    };
    rng.pick(options).copied().unwrap_or("").to_owned()
}

/// The reason again, in other words than `said` when there are other words.
pub(crate) fn reason_again(rng: &mut Rng, locale: Locale, why: ReturnReason, said: &str) -> String {
    let mut text = reason(rng, locale, why);
    for _ in 0..4 {
        if text != said {
            break;
        }
        text = reason(rng, locale, why);
    }
    text
}

/// Identity details as a customer writes them: both, or only the email, or only the postcode.
/// `answer` is true when the agent just asked for them: a bare `email, postcode` is then natural;
/// volunteered in a first message, people label them.
pub(crate) fn details(
    rng: &mut Rng,
    locale: Locale,
    email: Option<&str>,
    postcode: Option<&str>,
    answer: bool,
) -> String {
    match (email, postcode) {
        (Some(email), Some(postcode)) => {
            let options: &[&str] = match (lang(locale), answer) {
                (0, true) => &[
                    "My email is {e} and my postcode is {p}.",
                    "{e}, {p}",
                    "Email {e}, postcode {p}.",
                ],
                (0, false) => &[
                    "My email is {e} and my postcode is {p}.",
                    "Email {e}, postcode {p}.",
                ],
                (1, true) => &[
                    "Meine E-Mail ist {e}, PLZ {p}.",
                    "{e}, {p}",
                    "E-Mail: {e}, PLZ {p}",
                ],
                (1, false) => &["Meine E-Mail ist {e}, PLZ {p}.", "E-Mail: {e}, PLZ {p}"],
                (2, true) => &[
                    "Mon e-mail est {e}, code postal {p}.",
                    "{e}, {p}",
                    "E-mail : {e}, NPA {p}",
                ],
                (2, false) => &[
                    "Mon e-mail est {e}, code postal {p}.",
                    "E-mail : {e}, NPA {p}",
                ],
                (_, true) => &[
                    "La mia email è {e}, CAP {p}.",
                    "{e}, {p}",
                    "Email: {e}, CAP {p}",
                ],
                (_, false) => &["La mia email è {e}, CAP {p}.", "Email: {e}, CAP {p}"],
            };
            let t = rng.pick(options).copied().unwrap_or("{e}, {p}");
            t.replace("{e}", email).replace("{p}", postcode)
        }
        (Some(email), None) => match lang(locale) {
            0 => format!("My email is {email}."),
            1 => format!("Meine E-Mail ist {email}."),
            2 => format!("Mon e-mail est {email}."),
            _ => format!("La mia email è {email}."),
        },
        (None, Some(postcode)) => {
            let options: &[&str] = match (lang(locale), answer) {
                (0, true) => &["Postcode {p}.", "{p}", "My postcode is {p}."],
                (0, false) => &["Postcode {p}.", "My postcode is {p}."],
                (1, true) => &["PLZ {p}", "{p}", "Meine Postleitzahl ist {p}."],
                (1, false) => &["PLZ {p}", "Meine Postleitzahl ist {p}."],
                (2, true) => &["Code postal {p}.", "{p}", "NPA {p}"],
                (2, false) => &["Code postal {p}.", "NPA {p}"],
                (_, true) => &["CAP {p}", "{p}", "Il mio CAP è {p}."],
                (_, false) => &["CAP {p}", "Il mio CAP è {p}."],
            };
            rng.pick(options)
                .copied()
                .unwrap_or("{p}")
                .replace("{p}", postcode)
        }
        (None, None) => String::new(),
    }
}

/// Naming the item again when the agent asks which one, and why.
pub(crate) fn which_item(locale: Locale, title: &str, reason_text: &str) -> String {
    match lang(locale) {
        0 => format!("The {title}. {reason_text}"),
        1 => format!("{title}. {reason_text}"),
        2 => format!("Le {title}. {reason_text}"),
        _ => format!("Il {title}. {reason_text}"),
    }
}

/// The size wanted, when the agent asks which variant.
pub(crate) fn which_size(locale: Locale, title: &str, size: &str) -> String {
    match lang(locale) {
        0 => format!("The {title} in size {size}, please."),
        1 => format!("{title} in Grösse {size}, bitte."),
        2 => format!("{title} en taille {size}, merci."),
        _ => format!("{title} in taglia {size}, grazie."),
    }
}

/// The order number alone, when the agent asks which order.
pub(crate) fn which_order(locale: Locale, order: &str) -> String {
    match lang(locale) {
        0 => format!("It's order {order}."),
        1 => format!("Es geht um die Bestellung {order}."),
        2 => format!("C'est la commande {order}."),
        _ => format!("È l'ordine {order}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use order_agent_core::ports::Intent;
    use order_agent_core::understanding::interpret;

    fn expected(topic: Topic) -> Intent {
        match topic {
            Topic::Wismo => Intent::Wismo,
            Topic::Return => Intent::Return,
            Topic::Exchange => Intent::Exchange,
            Topic::Cancel => Intent::CancelOrder,
            Topic::AddressChange => Intent::ChangeShippingAddress,
            Topic::RefundStatus => Intent::RefundStatus,
            Topic::Question => Intent::PolicyQuestion,
            Topic::Complaint => Intent::Complaint,
            Topic::Human => Intent::HumanEscalation,
        }
    }

    #[test]
    #[ignore = "exploration: prints how the built-in understanding reads every phrasing"]
    fn print_readings() {
        let mut rng = Rng::new(1);
        for locale in [Locale::En, Locale::De, Locale::Fr, Locale::It] {
            for topic in [
                Topic::Wismo,
                Topic::Return,
                Topic::Exchange,
                Topic::Cancel,
                Topic::AddressChange,
                Topic::RefundStatus,
                Topic::Question,
                Topic::Complaint,
                Topic::Human,
            ] {
                for _ in 0..12 {
                    let text = opening(&mut rng, locale, topic, "#100123", "sweater", "L");
                    let r = interpret(&text, None);
                    if r.intent != expected(topic) || r.confidence < 0.6 {
                        outln!(
                            "MISS {topic:?} {text:?} -> {:?} {:.2}",
                            r.intent,
                            r.confidence
                        );
                    }
                }
            }
            for reason in [
                ReturnReason::DoesNotFit,
                ReturnReason::ChangedMind,
                ReturnReason::Damaged,
                ReturnReason::Defective,
                ReturnReason::WrongItem,
                ReturnReason::NotAsDescribed,
            ] {
                for _ in 0..6 {
                    let text = super::reason(&mut rng, locale, reason);
                    let r = interpret(&text, Some(locale));
                    if r.entities.return_reason != Some(reason) {
                        outln!(
                            "REASON {reason:?} {text:?} -> {:?}",
                            r.entities.return_reason
                        );
                    }
                }
            }
            for _ in 0..6 {
                let text = details(
                    &mut rng,
                    locale,
                    Some("a.b@example.ch"),
                    Some("8004"),
                    false,
                );
                let r = interpret(&text, Some(locale));
                if r.entities.postcodes.is_empty() || r.entities.emails.is_empty() {
                    outln!("DETAILS {text:?} -> {:?}", r.entities);
                }
                let text = details(&mut rng, locale, None, Some("8004"), false);
                let r = interpret(&text, Some(locale));
                if r.entities.postcodes.is_empty() {
                    outln!("POSTCODE {text:?} -> {:?}", r.entities.postcodes);
                }
            }
        }
    }
}
