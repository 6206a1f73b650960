//! Messages understood per second by the built-in understanding, on a realistic mix of customer
//! messages in English, German (Swiss usage included), French and Italian.
//!
//! Run: `cargo bench -p order-agent-core --bench understand`
//! Criterion prints the time per message and the throughput in messages per second ("elem/s")
//! on one thread; the target is at least 50,000 messages per second per core.
//!
//! Measured 2026-11-26 on a shared 2-core machine: 296,000 messages/s when idle; 118,000/s
//! wall-clock under a load average of 10, where `perf stat` showed the bench getting 0.41 of a
//! CPU (about 290,000 messages per CPU-second). Before the phrase index, the fast word hasher and
//! allocation-free folding it was about 85,000 messages/s idle.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use order_agent_core::understanding::{interpret, BuiltinInterpreter};
use std::hint::black_box;

/// A day's mix: mostly "where is my order" and returns, some typos, some long messages, some
/// messages the shop does not handle.
const MESSAGES: &[&str] = &[
    "Hi, where is my order #1042? It was supposed to arrive on Monday.",
    "I'd like to return the blue sweater from order 20417, it's too small",
    "can i swap the sneakers for a size 43?",
    "Still no refund for my return, it's been two weeks. My email is anna.muster@example.ch",
    "please cancel order 55120, ordered twice by mistake",
    "I moved, please send the parcel to Seestrasse 12, 8002 Zürich instead",
    "Can I add a second pair of socks to my order before it ships?",
    "How long do I have to return something?",
    "I want to speak to a real person",
    "This is unacceptable, third late delivery this month",
    "How do I reset my password?",
    "wheres my pakage, tracking 1Z999AA10123456784 hasnt moved",
    "Grüezi, wo isch mis Päckli? Bstellig 2231",
    "Wo bleibt meine Bestellung 30112? Ich warte schon seit einer Woche.",
    "Ich möchte die Jacke zurückschicken, sie ist zu gross. Bestellnummer 66031",
    "Chönd ihr mir s'T-Shirt in M umtusche?",
    "Wänn chunnt mini Rückerstattig? Han s'Paket scho vor 10 Täg zruggschickt",
    "Bitte stornieren Sie meine Bestellung 81002",
    "Ich bin umgezogen, neue Adresse: Bahnhofstrasse 1, 8001 Zürich, Tel. 079 123 45 67",
    "Wie lange ist die Rückgabefrist?",
    "Ich möchte mit einem Mitarbeiter sprechen",
    "Bonjour, où en est ma commande 18822 ? Le suivi ne bouge plus depuis jeudi.",
    "Je voudrais retourner la robe, elle est trop grande",
    "Est-ce que je peux échanger la veste contre une taille M ?",
    "Je n'ai toujours pas reçu mon remboursement",
    "Merci d'annuler ma commande 20877, je me suis trompé",
    "Quelle est votre politique de retour ?",
    "C'est inadmissible, personne ne répond à mes mails",
    "Buongiorno, il mio ordine 62209 non è ancora arrivato, CAP 6900",
    "Vorrei restituire il maglione, non mi piace il colore",
    "Posso cambiare la giacca con una taglia più grande?",
    "Voglio il rimborso, il prodotto è difettoso",
    "Vorrei parlare con un operatore per favore",
    "Avete un negozio a Bellinzona?",
    "ok thanks",
    "Hello, I ordered a coffee machine three weeks ago (order 7781230) and the tracking number \
     you sent me doesn't work, the carrier website says it does not exist. Could you please \
     check what is going on and tell me when it will arrive? My phone is +41 79 555 12 34.",
];

fn bench_understand(c: &mut Criterion) {
    let interpreter = BuiltinInterpreter::new();
    // Compile the model outside the measurement.
    black_box(interpret("warm up", None));
    let mut group = c.benchmark_group("understand");
    group.throughput(Throughput::Elements(MESSAGES.len() as u64));
    group.bench_function("mixed_4_languages", |b| {
        b.iter(|| {
            for message in MESSAGES {
                black_box(interpreter.read(black_box(message), None));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_understand);
criterion_main!(benches);
