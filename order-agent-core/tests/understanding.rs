//! The built-in understanding: languages, intents, entities, determinism, the interpreter
//! conformance suite, and regression checks on the labelled sets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use order_agent_core::domain::{Locale, OrderNumber, ReturnReason, TrackingNumber};
use order_agent_core::ports::{Intent, Interpreter};
use order_agent_core::understanding::{
    interpret, is_confident, BuiltinInterpreter, LOW_CONFIDENCE,
};
use order_agent_testkit::conformance::interpreter;

fn orders(text: &str) -> Vec<String> {
    interpret(text, None)
        .entities
        .order_numbers
        .iter()
        .map(|n| n.as_str().to_owned())
        .collect()
}

#[test]
fn detects_the_language_of_typical_messages() {
    let cases = [
        ("Where is my order? I ordered it two weeks ago.", Locale::En),
        ("Hi, I want to return the shoes please", Locale::En),
        (
            "Wo ist meine Bestellung? Ich warte schon lange.",
            Locale::De,
        ),
        ("Grüezi, wo isch mis Paket? Merci vielmal", Locale::De),
        (
            "Der Pullover ist zu gross, ich möchte ihn zurückschicken",
            Locale::De,
        ),
        (
            "Où est ma commande ? Je l'attends depuis une semaine.",
            Locale::Fr,
        ),
        (
            "Bonjour, j'ai payé septante francs et rien reçu",
            Locale::Fr,
        ),
        ("Je voudrais retourner la veste, merci", Locale::Fr),
        (
            "Dov'è il mio ordine? Lo aspetto da una settimana.",
            Locale::It,
        ),
        (
            "Buongiorno, il pacco non è arrivato, potete chiamarmi sul natel?",
            Locale::It,
        ),
        ("Vorrei restituire le scarpe, grazie", Locale::It),
    ];
    for (text, language) in cases {
        assert_eq!(interpret(text, None).language, language, "`{text}`");
    }
}

#[test]
fn the_hint_decides_when_the_text_does_not() {
    assert_eq!(interpret("#1042", Some(Locale::Fr)).language, Locale::Fr);
    assert_eq!(interpret("#1042", None).language, Locale::En);
    assert_eq!(
        interpret("Wo ist meine Bestellung?", Some(Locale::Fr)).language,
        Locale::De
    );
}

/// One message per intent and language.
const INTENTS_BY_LANGUAGE: &[(Intent, [&str; 4])] = &[
    (
        Intent::Wismo,
        [
            "Where is my package? It still hasn't arrived",
            "Wo bleibt mein Paket? Es ist noch nicht angekommen",
            "Où est mon colis ? Il n'est toujours pas arrivé",
            "Dov'è il mio pacco? Non è ancora arrivato",
        ],
    ),
    (
        Intent::Return,
        [
            "I would like to return the jacket",
            "Ich möchte die Jacke zurücksenden",
            "Je voudrais retourner la veste",
            "Vorrei restituire la giacca",
        ],
    ),
    (
        Intent::Exchange,
        [
            "Can I exchange the shoes for a bigger size?",
            "Kann ich die Schuhe umtauschen?",
            "Puis-je échanger les chaussures ?",
            "Posso scambiare le scarpe con una taglia più grande?",
        ],
    ),
    (
        Intent::RefundRequest,
        [
            "I want a refund for the broken lamp",
            "Ich will mein Geld zurück für die kaputte Lampe",
            "Je veux être remboursé pour la lampe cassée",
            "Voglio un rimborso per la lampada rotta",
        ],
    ),
    (
        Intent::RefundStatus,
        [
            "Where is my refund? I sent the item back a month ago",
            "Wo bleibt meine Rückerstattung?",
            "Où en est mon remboursement ?",
            "Non ho ancora ricevuto il rimborso",
        ],
    ),
    (
        Intent::CancelOrder,
        [
            "Please cancel my order",
            "Bitte stornieren Sie meine Bestellung",
            "Merci d'annuler ma commande",
            "Vorrei annullare il mio ordine",
        ],
    ),
    (
        Intent::ChangeShippingAddress,
        [
            "I moved, please ship to my new address",
            "Bitte ändern Sie die Lieferadresse",
            "Pouvez-vous changer l'adresse de livraison ?",
            "Potete cambiare l'indirizzo di consegna?",
        ],
    ),
    (
        Intent::ModifyOrderItems,
        [
            "I'd like to add an item to my order before it ships",
            "Ich möchte noch einen Artikel zur Bestellung hinzufügen",
            "Je voudrais ajouter un article à ma commande",
            "Vorrei aggiungere un articolo al mio ordine",
        ],
    ),
    (
        Intent::PolicyQuestion,
        [
            "What is your return policy?",
            "Wie lange habe ich Zeit, um etwas zurückzugeben?",
            "Quels sont les frais de port ?",
            "Quanti giorni ho per il reso?",
        ],
    ),
    (
        Intent::HumanEscalation,
        [
            "I want to speak to a real person",
            "Ich möchte mit einem Mitarbeiter sprechen",
            "Je veux parler à un conseiller",
            "Voglio parlare con un operatore",
        ],
    ),
    (
        Intent::Complaint,
        [
            "I want to file a complaint, this is unacceptable",
            "Ich möchte mich beschweren, das ist eine Frechheit",
            "Je veux déposer une plainte, c'est inadmissible",
            "Voglio fare un reclamo, è inaccettabile",
        ],
    ),
    (
        Intent::OutOfScope,
        [
            "How do I reset my password?",
            "Wie ändere ich mein Passwort?",
            "Comment changer mon mot de passe ?",
            "Come cambio la password?",
        ],
    ),
];

#[test]
fn reads_each_intent_in_each_language() {
    let languages = [Locale::En, Locale::De, Locale::Fr, Locale::It];
    let mut covered = BTreeSet::new();
    for (intent, texts) in INTENTS_BY_LANGUAGE {
        for (text, language) in texts.iter().zip(languages) {
            let reading = interpret(text, None);
            assert_eq!(reading.intent, *intent, "`{text}`: {reading:?}");
            assert_eq!(reading.language, language, "`{text}`");
            if *intent != Intent::OutOfScope {
                assert!(is_confident(&reading), "`{text}`: {reading:?}");
            }
        }
        covered.insert(*intent);
    }
    assert_eq!(covered.len(), Intent::ALL.len());
}

#[test]
fn typos_are_tolerated() {
    for (text, intent) in [
        ("i wnat to retrun my jacket", Intent::Return),
        ("where is my ordr, it has not arived", Intent::Wismo),
        ("plese cancle my order", Intent::CancelOrder),
        ("Ich möchte die Bestelung stornieren", Intent::CancelOrder),
        ("je voudrais echanger la robe", Intent::Exchange),
    ] {
        assert_eq!(interpret(text, None).intent, intent, "`{text}`");
    }
}

/// Free phrasing, Swiss German spellings and typos the hand-written vocabulary covers, a few per
/// language (from `examples/data/nlu/dev_multilingual.jsonl`, the set it is tuned on).
#[test]
fn reads_free_phrasing_in_each_language() {
    let cases: &[(&str, Intent, Locale)] = &[
        ("any update on order 44120?", Intent::Wismo, Locale::En),
        (
            "I'd like to send the coffee machine back, it arrived damaged",
            Intent::Return,
            Locale::En,
        ),
        (
            "Can I get the same jacket in a large instead",
            Intent::Exchange,
            Locale::En,
        ),
        (
            "How long does standard delivery take?",
            Intent::PolicyQuestion,
            Locale::En,
        ),
        (
            "This bot is useless, get me a person",
            Intent::HumanEscalation,
            Locale::En,
        ),
        ("Wänn chunnt mis Päckli aa?", Intent::Wismo, Locale::De),
        (
            "Chan ich das Chleid zruggschicke?",
            Intent::Return,
            Locale::De,
        ),
        (
            "Chönd ihr mir s'T-Shirt in M umtusche?",
            Intent::Exchange,
            Locale::De,
        ),
        ("Ich will mis Gäld zrugg", Intent::RefundRequest, Locale::De),
        (
            "Wänn chunnt mini Rückerstattig?",
            Intent::RefundStatus,
            Locale::De,
        ),
        (
            "Mir sind zügelt, die Adresse stimmt nümme",
            Intent::ChangeShippingAddress,
            Locale::De,
        ),
        (
            "Ich möchte vom Kauf zurücktreten",
            Intent::CancelOrder,
            Locale::De,
        ),
        (
            "Muss ich die Rücksendung selber bezahlen?",
            Intent::PolicyQuestion,
            Locale::De,
        ),
        (
            "Je rends le sac, il ne me plaît pas",
            Intent::Return,
            Locale::Fr,
        ),
        (
            "Puis-je avoir la taille au-dessus ?",
            Intent::Exchange,
            Locale::Fr,
        ),
        (
            "Pouvez-vous m'appeler ?",
            Intent::HumanEscalation,
            Locale::Fr,
        ),
        (
            "Je suis furieux, c'est la deuxième fois",
            Intent::Complaint,
            Locale::Fr,
        ),
        (
            "Quel est le délai pour renvoyer un article ?",
            Intent::PolicyQuestion,
            Locale::Fr,
        ),
        (
            "Risulta consegnato ma non ho ricevuto nulla",
            Intent::Wismo,
            Locale::It,
        ),
        (
            "Posso avere il modello nero al posto di quello blu?",
            Intent::Exchange,
            Locale::It,
        ),
        (
            "Potete restituirmi i soldi?",
            Intent::RefundRequest,
            Locale::It,
        ),
        ("Mi potete richiamare?", Intent::HumanEscalation, Locale::It),
        (
            "Spedite anche in Austria?",
            Intent::PolicyQuestion,
            Locale::It,
        ),
    ];
    for (text, intent, language) in cases {
        let reading = interpret(text, None);
        assert_eq!(reading.intent, *intent, "`{text}`: {reading:?}");
        assert!(is_confident(&reading), "`{text}`: {reading:?}");
        assert_eq!(reading.language, *language, "`{text}`");
    }
}

#[test]
fn typos_in_german_french_and_italian_are_tolerated() {
    for (text, intent) in [
        ("ma comande n'est pas arivée", Intent::Wismo),
        ("dove e il mio ordnie?", Intent::Wismo),
        ("Ich warte auf die Rückerstatung", Intent::RefundStatus),
        ("wen will my oder arive", Intent::Wismo),
    ] {
        let reading = interpret(text, None);
        assert_eq!(reading.intent, intent, "`{text}`: {reading:?}");
        assert!(is_confident(&reading), "`{text}`: {reading:?}");
    }
    // A word one edit from a phrase word is not read as it when it is a known item noun.
    assert_eq!(
        interpret("Ich schicke die Tasche zurück, sie gefällt mir nicht", None).intent,
        Intent::Return
    );
}

#[test]
fn the_situation_decides_between_neighbouring_intents() {
    for (text, intent) in [
        // A status word makes a refund a status question, however many refund words it has...
        (
            "Wie ist der Stand meiner Rückerstattung?",
            Intent::RefundStatus,
        ),
        (
            "Où en est le remboursement de mon retour ?",
            Intent::RefundStatus,
        ),
        // ...unless it asks how to get one.
        ("where can i get my money back", Intent::RefundRequest),
        // Before shipping, another colour is a change of the order, not an exchange.
        (
            "Nel mio ordine vorrei cambiare il colore prima della spedizione",
            Intent::ModifyOrderItems,
        ),
        (
            "Can I swap it for a size M before it ships?",
            Intent::ModifyOrderItems,
        ),
        ("Can I swap it for a size M?", Intent::Exchange),
        // Asking what a return costs is a policy question, not a return.
        ("Ist die Rücksendung kostenlos?", Intent::PolicyQuestion),
        // The address words decide over the order-change words around them.
        (
            "Kann ich die Adresse für Bestellung 7710 noch ändern?",
            Intent::ChangeShippingAddress,
        ),
    ] {
        let reading = interpret(text, None);
        assert_eq!(reading.intent, intent, "`{text}`: {reading:?}");
    }
}

#[test]
fn ambiguous_messages_read_with_lower_confidence_than_clear_ones() {
    let pairs = [
        (
            "I want to exchange the shirt for a medium",
            "I want to exchange the shirt or cancel the order or get a refund",
        ),
        (
            "Ich möchte meine Bestellung stornieren",
            "Stornieren oder umtauschen oder zurückschicken, was geht?",
        ),
        (
            "Je voudrais retourner la robe",
            "retourner ou échanger ou annuler ?",
        ),
        (
            "Voglio annullare il mio ordine",
            "annullare o cambiare indirizzo?",
        ),
    ];
    for (clear, ambiguous) in pairs {
        let clear_reading = interpret(clear, None);
        let ambiguous_reading = interpret(ambiguous, None);
        assert!(is_confident(&clear_reading), "`{clear}`: {clear_reading:?}");
        assert!(
            !is_confident(&ambiguous_reading),
            "`{ambiguous}`: {ambiguous_reading:?}"
        );
        assert!(ambiguous_reading.confidence < clear_reading.confidence);
    }
    // Greetings, thanks and one vague word are never acted on.
    for text in [
        "Grüezi mitenand",
        "Merci beaucoup, bonne journée",
        "ok thanks",
        "Hilfe",
        "order",
    ] {
        let reading = interpret(text, None);
        assert!(!is_confident(&reading), "`{text}`: {reading:?}");
    }
}

#[test]
fn swiss_and_glued_order_words_introduce_order_numbers() {
    assert_eq!(
        orders("Ich bruuch es Rücksendeetikett für mini Bstellig 33871"),
        ["33871"]
    );
    assert_eq!(
        orders("Ich hätt gern d'Rückerstattig für d'Bstellig 41200"),
        ["41200"]
    );
    assert_eq!(
        orders("Come posso fare il reso dell'ordine 47718?"),
        ["47718"]
    );
    assert_eq!(
        orders("Ist mein Paket schon unterwegs? PLZ 8004"),
        Vec::<String>::new()
    );
    let reading = interpret("Ist mein Paket schon unterwegs? PLZ 8004", None);
    assert_eq!(reading.entities.postcodes, ["8004"]);
}

#[test]
fn readings_do_not_depend_on_the_interpreter_instance_or_the_order_of_messages() {
    let texts = [
        "Wänn chunnt mini Rückerstattig?",
        "send the coffee machine back",
        "Puis-je avoir la taille au-dessus ?",
        "Il reso è gratuito?",
        "asdf",
    ];
    let forwards: Vec<_> = texts
        .iter()
        .map(|t| BuiltinInterpreter::new().read(t, None))
        .collect();
    let backwards: Vec<_> = texts.iter().rev().map(|t| interpret(t, None)).collect();
    let mut reversed = backwards.clone();
    reversed.reverse();
    assert_eq!(forwards, reversed);
    let custom = BuiltinInterpreter::with_learned_weights(include_str!(
        "../src/understanding/learned_en.tsv"
    ));
    for (text, reading) in texts.iter().zip(&forwards) {
        assert_eq!(&custom.read(text, None), reading, "`{text}`");
    }
}

#[test]
fn gibberish_is_low_confidence() {
    for text in ["asdf qwerty 12", "ok", "🙂🙂", "lorem ipsum dolor sit amet"] {
        let reading = interpret(text, None);
        assert!(!is_confident(&reading), "`{text}`: {reading:?}");
        assert!(reading.confidence < LOW_CONFIDENCE || reading.intent == Intent::OutOfScope);
    }
}

#[test]
fn blank_text_is_out_of_scope_with_zero_confidence() {
    for text in ["", "  \n\t "] {
        let reading = interpret(text, Some(Locale::It));
        assert_eq!(reading.intent, Intent::OutOfScope);
        assert_eq!(reading.confidence, 0.0);
        assert_eq!(reading.language, Locale::It);
    }
}

#[test]
fn order_numbers_in_their_usual_forms() {
    assert_eq!(orders("Where is my order #1042?"), ["1042"]);
    assert_eq!(orders("status of order 1042 please"), ["1042"]);
    assert_eq!(orders("Bestellung 1042 ist nicht da"), ["1042"]);
    assert_eq!(orders("Bestellung Nr. 2001"), ["2001"]);
    assert_eq!(orders("ma commande n° 3003"), ["3003"]);
    assert_eq!(orders("il mio ordine 4004"), ["4004"]);
    assert_eq!(orders("cancel purchase 00004587345"), ["00004587345"]);
    assert_eq!(orders("cancelling order732201349959"), ["732201349959"]);
    assert_eq!(orders("track purhase 113542617735902"), ["113542617735902"]);
    assert_eq!(orders("I need to see invoice #85632"), Vec::<String>::new());
    assert_eq!(orders("a refund of $1499"), Vec::<String>::new());
}

#[test]
fn an_order_number_is_not_a_postcode() {
    let reading = interpret("Bestellung 1042 bitte an PLZ 8004 Zürich liefern", None);
    assert_eq!(reading.entities.order_numbers, [OrderNumber::new("1042")]);
    assert_eq!(reading.entities.postcodes, ["8004"]);

    let reading = interpret("order 80045 has not arrived", None);
    assert_eq!(reading.entities.order_numbers, [OrderNumber::new("80045")]);
    assert!(reading.entities.postcodes.is_empty());

    let reading = interpret("nouvelle adresse: rue du Lac 5, 1003 Lausanne", None);
    assert_eq!(reading.entities.postcodes, ["1003"]);
    assert!(reading.entities.order_numbers.is_empty());

    let reading = interpret("CAP 6900, ordine #77", None);
    assert_eq!(reading.entities.postcodes, ["6900"]);
    assert_eq!(reading.entities.order_numbers, [OrderNumber::new("77")]);

    let reading = interpret("I paid CHF 1499 for it", None);
    assert!(reading.entities.postcodes.is_empty());
}

#[test]
fn phones_in_swiss_and_international_formats() {
    for (text, phone) in [
        ("call me on +41 79 123 45 67 please", "+41 79 123 45 67"),
        ("mein Natel: 079 123 45 67", "079 123 45 67"),
        ("tel. 0041 79 123 45 67", "0041 79 123 45 67"),
        ("+41791234567", "+41791234567"),
        ("appelez-moi au 021 345 67 89", "021 345 67 89"),
        ("numero 0791234567", "0791234567"),
        ("+49 30 1234567", "+49 30 1234567"),
    ] {
        let reading = interpret(text, None);
        assert_eq!(reading.entities.phones, [phone], "`{text}`");
        assert!(reading.entities.order_numbers.is_empty(), "`{text}`");
        assert!(reading.entities.postcodes.is_empty(), "`{text}`");
    }
}

#[test]
fn emails_are_lower_cased() {
    let reading = interpret("My email is Anna.Muster@Example.CH, thanks.", None);
    assert_eq!(reading.entities.emails, ["anna.muster@example.ch"]);
}

#[test]
fn tracking_numbers_by_shape() {
    let reading = interpret(
        "Sendung 99.60.123456.12345678 und 1Z999AA10123456784 fehlen",
        None,
    );
    assert_eq!(
        reading.entities.tracking_numbers,
        [
            TrackingNumber::new("99.60.123456.12345678"),
            TrackingNumber::new("1Z999AA10123456784")
        ]
    );
    assert!(reading.entities.order_numbers.is_empty());
    let reading = interpret("tracking number 123456789012 shows nothing", None);
    assert_eq!(
        reading.entities.tracking_numbers,
        [TrackingNumber::new("123456789012")]
    );
}

#[test]
fn return_reasons_in_four_languages() {
    for (text, reason) in [
        ("The sweater is too small", ReturnReason::DoesNotFit),
        ("Der Pullover ist zu gross", ReturnReason::DoesNotFit),
        ("Le pull est trop petit", ReturnReason::DoesNotFit),
        ("Il maglione è troppo piccolo", ReturnReason::DoesNotFit),
        ("The vase arrived broken", ReturnReason::Damaged),
        ("Die Vase ist kaputt angekommen", ReturnReason::Damaged),
        ("Le vase est arrivé cassé", ReturnReason::Damaged),
        ("Il vaso è arrivato rotto", ReturnReason::Damaged),
        ("The kettle does not work", ReturnReason::Defective),
        (
            "Der Wasserkocher funktioniert nicht",
            ReturnReason::Defective,
        ),
        ("La bouilloire ne fonctionne pas", ReturnReason::Defective),
        ("Il bollitore non funziona", ReturnReason::Defective),
        ("I received the wrong item", ReturnReason::WrongItem),
        ("Falscher Artikel geliefert", ReturnReason::WrongItem),
        ("J'ai reçu le mauvais article", ReturnReason::WrongItem),
        ("Ho ricevuto un articolo sbagliato", ReturnReason::WrongItem),
        ("I changed my mind", ReturnReason::ChangedMind),
        ("Gefällt mir nicht", ReturnReason::ChangedMind),
        ("J'ai changé d'avis", ReturnReason::ChangedMind),
        ("Ho cambiato idea", ReturnReason::ChangedMind),
        ("It is not as described", ReturnReason::NotAsDescribed),
        ("I found it cheaper elsewhere", ReturnReason::FoundCheaper),
        ("D'Jacke isch z'chli", ReturnReason::DoesNotFit),
        ("The kettle won't turn on", ReturnReason::Defective),
        ("La bouilloire ne s'allume pas", ReturnReason::Defective),
        ("Il bollitore non si accende", ReturnReason::Defective),
        ("The phone case is scratched", ReturnReason::Damaged),
        (
            "Le pull n'est pas comme sur la photo",
            ReturnReason::NotAsDescribed,
        ),
        (
            "Ihr habt mir die falsche Farbe geschickt",
            ReturnReason::WrongItem,
        ),
        ("Gfallt mer nöd", ReturnReason::ChangedMind),
    ] {
        assert_eq!(
            interpret(text, None).entities.return_reason,
            Some(reason),
            "`{text}`"
        );
    }
    assert_eq!(
        interpret("Where is my order?", None).entities.return_reason,
        None
    );
}

#[test]
fn item_references_after_an_article_in_return_messages() {
    for (text, item) in [
        (
            "I want to return the blue sweater from order #1042",
            "the blue sweater",
        ),
        (
            "Ich möchte den roten Pullover zurücksenden",
            "den roten Pullover",
        ),
        ("Je voudrais retourner le pull bleu", "le pull bleu"),
        ("Vorrei restituire il maglione blu", "il maglione blu"),
    ] {
        let reading = interpret(text, None);
        assert_eq!(reading.entities.item_references, [item], "`{text}`");
    }
    assert!(interpret("Where is the parcel?", None)
        .entities
        .item_references
        .is_empty());
}

#[test]
fn the_same_text_reads_the_same_every_time() {
    let texts: Vec<&str> = INTENTS_BY_LANGUAGE
        .iter()
        .flat_map(|(_, texts)| texts.iter().copied())
        .chain(interpreter::PROBES.iter().copied())
        .collect();
    let first: Vec<_> = texts.iter().map(|t| interpret(t, None)).collect();
    for _ in 0..3 {
        let again: Vec<_> = texts.iter().map(|t| interpret(t, None)).collect();
        assert_eq!(first, again);
    }
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let texts: Vec<String> = texts.iter().map(|t| (*t).to_owned()).collect();
            std::thread::spawn(move || texts.iter().map(|t| interpret(t, None)).collect::<Vec<_>>())
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), first);
    }
}

#[tokio::test]
async fn passes_the_interpreter_conformance_suite() {
    let builtin = BuiltinInterpreter::new();
    interpreter::run_all(&builtin, &interpreter::sample())
        .await
        .unwrap();
    let multilingual = interpreter::InterpreterFixture {
        labelled: INTENTS_BY_LANGUAGE
            .iter()
            .flat_map(|(intent, texts)| texts.iter().map(|t| ((*t).to_owned(), *intent)))
            .collect(),
    };
    interpreter::run_all(&builtin, &multilingual).await.unwrap();
    let reading = builtin
        .interpret("Wo ist meine Bestellung #1042?", None)
        .await
        .unwrap();
    assert_eq!(reading, interpret("Wo ist meine Bestellung #1042?", None));
}

/// Accuracy of a labelled JSONL file in the `nlu_eval` format, with readings below the
/// confidence threshold counted as out of scope; also the order-id F1.
fn score_file(path: &Path) -> (f64, f64, BTreeMap<String, usize>) {
    let content = std::fs::read_to_string(path).unwrap();
    let (mut right, mut total) = (0usize, 0usize);
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut misses = BTreeMap::new();
    for line in content.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = value["text"].as_str().unwrap();
        let gold: Intent = serde_json::from_value(value["mapped_intent"].clone()).unwrap();
        let reading = interpret(text, None);
        let read = if is_confident(&reading) {
            reading.intent
        } else {
            Intent::OutOfScope
        };
        total += 1;
        if read == gold {
            right += 1;
        } else {
            *misses.entry(format!("{gold:?}->{read:?}")).or_insert(0) += 1;
        }
        let entities = value["entities"].as_array().cloned().unwrap_or_default();
        if entities
            .iter()
            .any(|e| e["span_matches_value"].as_bool() == Some(false))
        {
            continue;
        }
        let expected: BTreeSet<String> = entities
            .iter()
            .filter(|e| e["type"] == "order_id")
            .map(|e| {
                e["text"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches('#')
                    .to_owned()
            })
            .collect();
        let found: BTreeSet<String> = reading
            .entities
            .order_numbers
            .iter()
            .map(|n| n.as_str().to_owned())
            .collect();
        tp += expected.intersection(&found).count();
        fp += found.difference(&expected).count();
        fn_ += expected.difference(&found).count();
    }
    let f1 = if tp == 0 {
        1.0
    } else {
        2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
    };
    (right as f64 / total as f64, f1, misses)
}

#[test]
fn own_labelled_sets_stay_read() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/data/nlu");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        files += 1;
        let (accuracy, order_f1, misses) = score_file(&path);
        // `holdout_fresh.jsonl` was written before the last round of tuning and never used to
        // tune: its floor guards against regressions. The other sets were tuned on (see
        // examples/data/nlu/README.md) and must stay near perfect.
        let held_out = path.to_string_lossy().contains("fresh");
        let floor = if held_out { 0.75 } else { 0.9 };
        println!("{}: accuracy {accuracy:.3}", path.display());
        assert!(
            accuracy >= floor,
            "{}: accuracy {accuracy:.3}, misses {misses:?}",
            path.display()
        );
        assert!(
            order_f1 >= 0.98,
            "{}: order-id f1 {order_f1:.3}",
            path.display()
        );
    }
    assert!(
        files >= 4,
        "expected the labelled sets in {}",
        dir.display()
    );
}

#[test]
fn bitext_dev_set_regression() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/intents/bitext/bitext_4514_eval.jsonl");
    if !path.exists() {
        println!(
            "skipped: the Bitext dev set is not at `{}` (it is read from ../shared, never copied)",
            path.display()
        );
        return;
    }
    let (accuracy, order_f1, misses) = score_file(&path);
    // The learned weights come from this set: this guards against regressions, it is not a
    // held-out score (see scripts/train_nlu_weights.py --cv for that).
    assert!(
        accuracy >= 0.97,
        "accuracy {accuracy:.3}, misses {misses:?}"
    );
    assert!(order_f1 >= 0.98, "order-id f1 {order_f1:.3}");
}

#[test]
fn other_learned_weights_replace_the_shipped_ones() {
    let shipped = BuiltinInterpreter::new();
    let text = "how can I cancel purchase 113542617735902?";
    assert_eq!(shipped.read(text, None), interpret(text, None));
    // Without learned weights the hand-written phrases still read every language.
    let phrases_only = BuiltinInterpreter::with_learned_weights("");
    for (intent, texts) in INTENTS_BY_LANGUAGE {
        for text in &texts[1..] {
            assert_eq!(phrases_only.read(text, None).intent, *intent, "`{text}`");
        }
    }
    // Weights that make every English word a complaint make English messages complaints.
    let skewed = BuiltinInterpreter::with_learned_weights("cancel\tcomplaint:50.0\nnot a line\n");
    assert_eq!(skewed.read(text, None).intent, Intent::Complaint);
    assert_eq!(
        skewed.read(text, None).entities,
        interpret(text, None).entities
    );
}
