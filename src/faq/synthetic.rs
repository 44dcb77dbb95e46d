//! A synthetic but realistic FAQ of any size, for benchmarks and recall
//! checks: entry `i` combines one of the question templates below with a
//! product and a product line, so entries are distinct but share words
//! and meaning the way a large shop's FAQ does. Deterministic.

use super::FaqDraft;

/// (question, three phrasings, answer); `{p}` is the product.
const TEMPLATES: &[(&str, [&str; 3], &str)] = &[
    ("How do I return {p}?", ["can I send back {p}", "return policy for {p}", "I want to return my {p}"], "You can return {p} within 30 days in its original condition; start the return from your order page."),
    ("What is the warranty on {p}?", ["how long is {p} guaranteed", "warranty period of {p}", "is {p} covered by a guarantee"], "{p} has a two-year warranty against manufacturing defects."),
    ("How do I clean {p}?", ["washing instructions for {p}", "can {p} go in the washing machine", "how to care for {p}"], "Clean {p} by hand with lukewarm water and mild soap, then let it dry in the air."),
    ("Is {p} waterproof?", ["can I use {p} in the rain", "does {p} keep water out", "is {p} water resistant"], "{p} is water resistant; reproof it once a season to keep it that way."),
    ("What sizes does {p} come in?", ["size chart for {p}", "which size of {p} should I order", "does {p} run small"], "{p} comes in sizes XS to XXL; see the size chart on its product page."),
    ("When will {p} be back in stock?", ["{p} is sold out", "restock date for {p}", "can I preorder {p}"], "We restock {p} every few weeks; subscribe to the product page to hear first."),
    ("Can I exchange {p} for another colour?", ["swap {p} for a different colour", "change the colour of my {p}", "exchange {p}"], "Yes, exchange {p} for free within 30 days from your order page."),
    ("How much does shipping cost for {p}?", ["delivery price of {p}", "is shipping free for {p}", "shipping fee for {p}"], "Shipping {p} is free above 50 euros and 4.90 euros below."),
    ("How do I repair {p}?", ["{p} is broken", "fix a tear in {p}", "spare parts for {p}"], "Send {p} to our repair service; small repairs are free in the first year."),
    ("Is {p} suitable for winter?", ["can I use {p} in the snow", "is {p} warm enough for cold weather", "{p} in freezing temperatures"], "{p} is rated down to minus ten degrees when layered properly."),
    ("What is {p} made of?", ["material of {p}", "which fabric is {p}", "is {p} made from recycled material"], "{p} is made of recycled polyester and responsibly sourced down."),
    ("How heavy is {p}?", ["weight of {p}", "is {p} light enough for hiking", "how much does {p} weigh"], "{p} weighs about 900 grams; the exact figure is on the product page."),
    ("Can I buy {p} as a gift?", ["gift wrapping for {p}", "send {p} to someone else", "gift card for {p}"], "Yes, choose gift wrapping at checkout and we ship {p} without a price tag."),
    ("Is there a discount on {p}?", ["coupon for {p}", "is {p} on sale", "student discount on {p}"], "{p} is part of our seasonal sale; students get 10 % off with a valid ID."),
    ("How do I set up {p}?", ["instructions for {p}", "how to assemble {p}", "manual for {p}"], "The manual for {p} is in the box and as a PDF on the product page."),
    ("Can I pick up {p} in a store?", ["click and collect {p}", "collect {p} from the shop", "is {p} available in the store"], "Choose click and collect at checkout to pick up {p} in a store."),
];

const PRODUCTS: &[&str] = &[
    "hiking boots",
    "rain jacket",
    "tent",
    "sleeping bag",
    "backpack",
    "trekking poles",
    "down vest",
    "fleece pullover",
    "softshell trousers",
    "camping stove",
    "headlamp",
    "water filter",
    "climbing harness",
    "ski gloves",
    "merino base layer",
    "trail runners",
    "insulated parka",
    "sleeping mat",
    "dry bag",
    "camp chair",
    "gaiters",
    "sun hat",
    "wool socks",
    "hammock",
    "cooking set",
    "bike helmet",
    "snowshoes",
    "travel towel",
    "thermos flask",
    "compass",
    "rain trousers",
    "beanie",
];

/// Product lines; with the templates and products they give over
/// 100,000 distinct entries.
const LINES: &[&str] = &[
    "Alpine", "Fjord", "Summit", "Tundra", "Canyon", "Glacier", "Ridge", "Harbour", "Meadow",
    "Boreal", "Cascade", "Dune", "Ember", "Falcon", "Granite", "Heather", "Island", "Juniper",
    "Kestrel", "Lagoon", "Maple", "Nordic", "Orbit", "Pioneer", "Quartz", "Ranger", "Sierra",
    "Timber", "Upland", "Valley", "Willow", "Yukon", "Zephyr", "Aurora", "Basalt", "Cedar",
    "Delta", "Everest", "Forest", "Geyser", "Highland", "Iceberg", "Jasper", "Karst", "Lichen",
    "Monsoon", "Nimbus", "Oasis", "Pine", "Quarry", "River", "Storm", "Trail", "Umbra", "Vista",
    "Wander", "Xylem", "Yarrow", "Zenith", "Atlas", "Bramble", "Comet", "Drift", "Echo", "Flint",
    "Grove", "Horizon", "Indigo", "Jetty", "Kodiak", "Lumen", "Mesa", "Nomad", "Osprey", "Prairie",
    "Quest", "Reef", "Sable", "Thistle", "Ursa", "Vale", "Wren", "Yonder", "Zinnia", "Arctic",
    "Birch", "Coral", "Dawn", "Estuary", "Fern", "Gale", "Hollow", "Ivy", "Jade", "Knoll", "Larch",
    "Moss", "North", "Oak", "Peak", "Rowan", "Slate", "Tide", "Uplift", "Vapor", "West", "Yew",
    "Zinc", "Apex", "Bluff", "Crest", "Dell", "Elm", "Fell", "Glen", "Heath", "Inlet", "Jura",
    "Kite", "Loch", "Moor", "Ness", "Orca", "Pass", "Rapids", "Scree", "Tarn", "Uist", "Vole",
    "Weald", "Yarn", "Zonda", "Alder", "Brook", "Cirrus", "Dover", "Eddy", "Frost", "Gorge",
    "Hare", "Isle", "Jay", "Kelp", "Lynx", "Marsh", "Nook", "Otter", "Puffin", "Raven", "Shale",
    "Thorn", "Umber", "Vixen", "Wolf", "Yak", "Zest", "Acorn", "Badger", "Cliff", "Dusk", "Egret",
    "Fox", "Gull", "Hawk", "Iris", "Juno", "Kiln", "Lark", "Mink", "Newt", "Owl", "Pebble",
    "Robin", "Swift", "Teal", "Urchin", "Verve", "Wisp", "Yeti", "Zircon", "Arbor", "Bay", "Cove",
    "Dale", "Ebb", "Firth", "Gust", "Hill", "Ice", "Jolt", "Keel", "Lake", "Mist", "Nord", "Ore",
    "Pond", "Rill", "Sky", "Tor", "Urn", "Vane", "Wave", "Yawl", "Zeal", "Amber", "Briar", "Cairn",
    "Dew", "Elk", "Fjell", "Gneiss", "Halo", "Ibex", "Jib", "Kame", "Loam",
];

/// Entries the generator can make without repeating one.
pub fn capacity() -> usize {
    TEMPLATES.len() * PRODUCTS.len() * LINES.len()
}

fn parts(
    i: usize,
) -> (
    &'static (&'static str, [&'static str; 3], &'static str),
    String,
) {
    let t = &TEMPLATES[i % TEMPLATES.len()];
    let p = PRODUCTS[(i / TEMPLATES.len()) % PRODUCTS.len()];
    let line = LINES[(i / (TEMPLATES.len() * PRODUCTS.len())) % LINES.len()];
    (t, format!("the {line} {p}"))
}

/// Entry `i` (ids `syn-<i>`); distinct for `i < capacity()`.
pub fn entry(i: usize) -> FaqDraft {
    let ((question, phrasings, answer), product) = parts(i);
    let fill = |s: &str| s.replace("{p}", &product);
    FaqDraft {
        id: Some(format!("syn-{i}")),
        question: fill(question),
        phrasings: phrasings.iter().map(|p| fill(p)).collect(),
        answer: fill(answer),
        tags: vec![PRODUCTS[(i / TEMPLATES.len()) % PRODUCTS.len()].to_owned()],
        updated_at: None,
    }
}

/// A customer's question about entry `i`, worded unlike any of its texts.
pub fn question(i: usize, variant: usize) -> String {
    let ((question, _, _), product) = parts(i);
    let q = question.replace("{p}", &product).to_lowercase();
    match variant % 3 {
        0 => format!("hi, {}", q.trim_end_matches('?')),
        1 => format!("quick question: {q} thanks"),
        _ => format!("{} please help", q.trim_end_matches('?')),
    }
}
