//! The questions loadgen's customers ask, one per turn. Also read by
//! `benches/inference.rs`, so the model ceiling it reports can be
//! measured on the same texts as the whole server.

/// Realistic questions for a small online shop; some are answered by the
/// demo FAQ, some need clarification, some are chit-chat or complaints.
pub const QUESTIONS: &[&str] = &[
    "How long do I have to return an item?",
    "Can I send back shoes I already wore outside?",
    "How much does shipping cost?",
    "Do you ship to Switzerland?",
    "Where is my parcel? It was supposed to arrive yesterday",
    "Do you offer express or next-day delivery?",
    "I forgot my password, how do I reset it?",
    "I never got the password reset email",
    "Which payment methods do you accept?",
    "Can I pay with PayPal or by invoice?",
    "My card was charged twice for the same order!",
    "Hi there",
    "Good morning, is anyone there?",
    "This is the third time my order is late, I'm really annoyed",
    "The jacket arrived torn, this is unacceptable",
    "When will I get my refund?",
    "Can I change the delivery address after ordering?",
    "How do I cancel my order?",
    "Do you have a discount code for students?",
    "Thanks, that helped a lot!",
];
