//! Deterministic seed data: the same seed and record count always give the same account, ids,
//! timestamps and associations included. Timestamps sit in 2024–2025 whatever the wall clock.

use std::collections::BTreeMap;

use crate::account::Account;
use crate::owners::Owner;
use crate::pipelines::PIPELINES;
use crate::schema::ObjectType;
use crate::time::format_ms;

/// 2024-01-01T00:00:00Z: the seeded account's creation time.
pub const EPOCH_MS: i64 = 1_704_067_200_000;
const TWO_YEARS_MS: i64 = 730 * 86_400_000;

const FIRST: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Tim",
    "Radia",
    "Edsger",
    "Hedy",
    "John",
    "Katherine",
    "Niklaus",
    "Sophie",
    "Donald",
    "Anita",
    "Guido",
    "Joan",
    "Bjarne",
    "Lynn",
    "James",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Berners-Lee",
    "Perlman",
    "Dijkstra",
    "Lamarr",
    "McCarthy",
    "Johnson",
    "Wirth",
    "Wilson",
    "Knuth",
    "Borg",
    "van Rossum",
    "Clarke",
    "Stroustrup",
    "Conway",
    "Gosling",
];
const COMPANY_A: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Aperture",
    "Massive",
    "Nakatomi",
    "Oscorp",
];
const COMPANY_B: &[&str] = &[
    "Systems",
    "Industries",
    "Labs",
    "Holdings",
    "Logistics",
    "Analytics",
    "Foods",
    "Energy",
    "Robotics",
    "Media",
    "Partners",
    "Networks",
];
const INDUSTRIES: &[&str] = &[
    "COMPUTER_SOFTWARE",
    "FINANCIAL_SERVICES",
    "HOSPITAL_HEALTH_CARE",
    "RETAIL",
    "TELECOMMUNICATIONS",
    "LOGISTICS_AND_SUPPLY_CHAIN",
    "FOOD_BEVERAGES",
    "RENEWABLES_ENVIRONMENT",
];
const CITIES: &[(&str, &str)] = &[
    ("Boston", "United States"),
    ("Dublin", "Ireland"),
    ("Berlin", "Germany"),
    ("Paris", "France"),
    ("Tokyo", "Japan"),
    ("Toronto", "Canada"),
    ("Sydney", "Australia"),
    ("Amsterdam", "Netherlands"),
];
const LIFECYCLE: &[&str] = &[
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
];
const LEAD_STATUS: &[&str] = &["NEW", "OPEN", "IN_PROGRESS", "CONNECTED", "UNQUALIFIED"];
const TOPICS: &[&str] = &[
    "pricing",
    "renewal",
    "onboarding",
    "integration",
    "security review",
    "expansion",
    "quarterly review",
    "support escalation",
];

/// SplitMix64: small, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Who the seeded account belongs to: the default user, who is also its first owner.
pub struct SeedUser<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

/// Builds the account: owners, then roughly `records` CRM records: 10% companies, 40%
/// contacts, 20% deals and 30% engagements, with their associations; then a tenth as many
/// logged emails as engagements, on top (so `records` is a lower bound).
pub fn seed(seed: u64, records: usize, user: &SeedUser<'_>) -> Account {
    let mut rng = Rng::new(seed);
    let hub_id = 20_000_000 + (rng.next_u64() % 9_000_000);
    let mut account = Account::new(hub_id, EPOCH_MS);
    let mut owner_ids = Vec::new();
    for i in 0..5u64 {
        let (first, last, email) = if i == 0 {
            (
                user.first_name.to_owned(),
                user.last_name.to_owned(),
                user.email.to_owned(),
            )
        } else {
            let first = rng.pick(FIRST).to_owned();
            let last = rng.pick(LAST).to_owned();
            let email = format!("{}.{}@emulator.test", first.to_lowercase(), i);
            (first, last, email)
        };
        let id = 40_000_000 + i * 1_013 + rng.next_u64() % 1_000;
        owner_ids.push(id);
        account.add_owner(Owner {
            id,
            user_id: 9_000_000 + i * 17,
            email,
            first_name: first,
            last_name: last,
            created_ms: EPOCH_MS,
            updated_ms: None,
            archived: false,
            team: (i % 2 == 0).then(|| (700 + i, "Sales".to_owned())),
            role_id: None,
            secondary_team_ids: Vec::new(),
            // The account's own user administers it.
            super_admin: i == 0,
        });
    }
    if records == 0 {
        return account;
    }
    let companies = (records / 10).max(1);
    let contacts = records * 4 / 10;
    let deals = records * 2 / 10;
    let engagements = records.saturating_sub(companies + contacts + deals);
    let when = |rng: &mut Rng| {
        let created = EPOCH_MS + (rng.next_u64() % TWO_YEARS_MS as u64) as i64;
        let updated = created + (rng.next_u64() % (30 * 86_400_000)) as i64;
        (created, updated)
    };

    let mut company_ids = Vec::with_capacity(companies);
    for i in 0..companies {
        let name = format!("{} {}", rng.pick(COMPANY_A), rng.pick(COMPANY_B));
        let domain = format!("{}{i}.example.com", name.to_lowercase().replace(' ', "-"));
        let (city, country) = CITIES[rng.below(CITIES.len())];
        let mut p = BTreeMap::new();
        p.insert("name".to_owned(), name);
        p.insert("website".to_owned(), format!("https://{domain}"));
        p.insert("domain".to_owned(), domain);
        p.insert("industry".to_owned(), rng.pick(INDUSTRIES).to_owned());
        p.insert("city".to_owned(), city.to_owned());
        p.insert("country".to_owned(), country.to_owned());
        p.insert(
            "numberofemployees".to_owned(),
            (10 + rng.below(5000)).to_string(),
        );
        p.insert(
            "annualrevenue".to_owned(),
            (100_000 * (1 + rng.below(500))).to_string(),
        );
        p.insert("phone".to_owned(), format!("+1 555 01{:02}", i % 100));
        p.insert(
            "hubspot_owner_id".to_owned(),
            owner_ids[rng.below(owner_ids.len())].to_string(),
        );
        if i % 3 == 0 {
            p.insert(
                "account_tier".to_owned(),
                ["Gold", "Silver", "Bronze"][(i / 3) % 3].to_owned(),
            );
        }
        let (c, u) = when(&mut rng);
        company_ids.push(account.insert_raw(ObjectType::Companies, p, c, u));
    }

    let mut contact_ids = Vec::with_capacity(contacts);
    for i in 0..contacts {
        let first = rng.pick(FIRST);
        let last = rng.pick(LAST);
        let company = company_ids[rng.below(company_ids.len())];
        let company_name = account
            .get(ObjectType::Companies, &company.to_string(), false)
            .ok()
            .and_then(|r| r.properties.get("name").cloned())
            .unwrap_or_default();
        let (city, country) = CITIES[rng.below(CITIES.len())];
        let mut p = BTreeMap::new();
        p.insert("firstname".to_owned(), first.to_owned());
        p.insert("lastname".to_owned(), last.to_owned());
        let local = format!(
            "{}.{}{i}",
            first.to_lowercase(),
            last.to_lowercase().replace(' ', "")
        );
        p.insert("email".to_owned(), format!("{local}@example.com"));
        p.insert("phone".to_owned(), format!("+1 555 {:04}", i % 10_000));
        p.insert("company".to_owned(), company_name);
        p.insert(
            "jobtitle".to_owned(),
            rng.pick(&["CTO", "VP Sales", "Engineer", "Buyer", "CEO", "Analyst"])
                .to_owned(),
        );
        p.insert("city".to_owned(), city.to_owned());
        p.insert("country".to_owned(), country.to_owned());
        p.insert("lifecyclestage".to_owned(), rng.pick(LIFECYCLE).to_owned());
        p.insert(
            "hs_lead_status".to_owned(),
            rng.pick(LEAD_STATUS).to_owned(),
        );
        p.insert(
            "hubspot_owner_id".to_owned(),
            owner_ids[rng.below(owner_ids.len())].to_string(),
        );
        // A custom property on every other contact, from the index so the random stream (and
        // so every other seeded value) stays as it was.
        if i % 2 == 0 {
            p.insert(
                "preferred_language".to_owned(),
                ["en", "fr", "de", "es"][(i / 2) % 4].to_owned(),
            );
        }
        let (c, u) = when(&mut rng);
        let id = account.insert_raw(ObjectType::Contacts, p, c, u);
        link(
            &mut account,
            ObjectType::Contacts,
            id,
            ObjectType::Companies,
            company,
        );
        contact_ids.push(id);
    }

    let mut deal_ids = Vec::with_capacity(deals);
    for _ in 0..deals {
        let company = company_ids[rng.below(company_ids.len())];
        let pipeline = &PIPELINES[usize::from(rng.below(4) == 0)];
        let stage = pipeline.stages[rng.below(pipeline.stages.len())].id;
        let (c, u) = when(&mut rng);
        let mut p = BTreeMap::new();
        p.insert(
            "dealname".to_owned(),
            format!("{} {}", rng.pick(COMPANY_A), rng.pick(TOPICS)),
        );
        p.insert(
            "amount".to_owned(),
            (500 * (1 + rng.below(400))).to_string(),
        );
        p.insert("pipeline".to_owned(), pipeline.id.to_owned());
        p.insert("dealstage".to_owned(), stage.to_owned());
        p.insert(
            "closedate".to_owned(),
            format_ms(c + (rng.next_u64() % (90 * 86_400_000)) as i64),
        );
        p.insert(
            "dealtype".to_owned(),
            rng.pick(&["newbusiness", "existingbusiness"]).to_owned(),
        );
        p.insert(
            "hubspot_owner_id".to_owned(),
            owner_ids[rng.below(owner_ids.len())].to_string(),
        );
        let id = account.insert_raw(ObjectType::Deals, p, c, u);
        link(
            &mut account,
            ObjectType::Deals,
            id,
            ObjectType::Companies,
            company,
        );
        if !contact_ids.is_empty() {
            let contact = contact_ids[rng.below(contact_ids.len())];
            link(
                &mut account,
                ObjectType::Deals,
                id,
                ObjectType::Contacts,
                contact,
            );
        }
        deal_ids.push(id);
    }

    let kinds = [
        ObjectType::Notes,
        ObjectType::Calls,
        ObjectType::Meetings,
        ObjectType::Tasks,
    ];
    for i in 0..engagements {
        let object = kinds[i % kinds.len()];
        let (c, u) = when(&mut rng);
        let topic = rng.pick(TOPICS);
        let mut p = BTreeMap::new();
        p.insert("hs_timestamp".to_owned(), format_ms(c));
        p.insert(
            "hubspot_owner_id".to_owned(),
            owner_ids[rng.below(owner_ids.len())].to_string(),
        );
        match object {
            ObjectType::Notes => {
                p.insert("hs_note_body".to_owned(), format!("Notes on {topic}."));
            }
            ObjectType::Calls => {
                p.insert("hs_call_title".to_owned(), format!("Call about {topic}"));
                p.insert("hs_call_body".to_owned(), format!("Discussed {topic}."));
                p.insert(
                    "hs_call_direction".to_owned(),
                    rng.pick(&["INBOUND", "OUTBOUND"]).to_owned(),
                );
                p.insert(
                    "hs_call_duration".to_owned(),
                    (1000 * (30 + rng.below(1800))).to_string(),
                );
                p.insert("hs_call_status".to_owned(), "COMPLETED".to_owned());
            }
            ObjectType::Meetings => {
                p.insert("hs_meeting_title".to_owned(), format!("Meeting: {topic}"));
                p.insert("hs_meeting_body".to_owned(), format!("Agenda: {topic}."));
                p.insert("hs_meeting_start_time".to_owned(), format_ms(c));
                p.insert("hs_meeting_end_time".to_owned(), format_ms(c + 3_600_000));
                p.insert(
                    "hs_meeting_outcome".to_owned(),
                    rng.pick(&["SCHEDULED", "COMPLETED", "NO_SHOW"]).to_owned(),
                );
            }
            _ => {
                p.insert(
                    "hs_task_subject".to_owned(),
                    format!("Follow up on {topic}"),
                );
                p.insert(
                    "hs_task_status".to_owned(),
                    rng.pick(&["NOT_STARTED", "IN_PROGRESS", "COMPLETED"])
                        .to_owned(),
                );
                p.insert(
                    "hs_task_priority".to_owned(),
                    rng.pick(&["LOW", "MEDIUM", "HIGH"]).to_owned(),
                );
                p.insert(
                    "hs_task_type".to_owned(),
                    rng.pick(&["CALL", "EMAIL", "TODO"]).to_owned(),
                );
            }
        }
        let id = account.insert_raw(object, p, c, u);
        if !contact_ids.is_empty() {
            let contact = contact_ids[rng.below(contact_ids.len())];
            link(&mut account, object, id, ObjectType::Contacts, contact);
        }
        let company = company_ids[rng.below(company_ids.len())];
        link(&mut account, object, id, ObjectType::Companies, company);
        if !deal_ids.is_empty() && rng.below(2) == 0 {
            let deal = deal_ids[rng.below(deal_ids.len())];
            link(&mut account, object, id, ObjectType::Deals, deal);
        }
    }
    seed_emails(
        &mut account,
        &mut Rng::new(seed ^ EMAIL_STREAM),
        engagements.div_ceil(10),
        &Seeded {
            owners: &owner_ids,
            contacts: &contact_ids,
            companies: &company_ids,
            deals: &deal_ids,
        },
    );
    account
}

/// Mixed into the seed for the emails' own random stream, so that adding them left every other
/// seeded record (values, ids, associations) as it was.
const EMAIL_STREAM: u64 = 0x656d_6169_6c73;

/// The ids the emails are linked to.
struct Seeded<'a> {
    owners: &'a [u64],
    contacts: &'a [u64],
    companies: &'a [u64],
    deals: &'a [u64],
}

/// A few logged emails (`docs/hubspot.md §7b`), each on a contact and its company, every other
/// one on a deal too; after every other record, so their ids come last.
fn seed_emails(account: &mut Account, rng: &mut Rng, count: usize, to: &Seeded<'_>) {
    if to.contacts.is_empty() || to.companies.is_empty() {
        return;
    }
    for i in 0..count {
        let created = EPOCH_MS + (rng.next_u64() % TWO_YEARS_MS as u64) as i64;
        let updated = created + (rng.next_u64() % (30 * 86_400_000)) as i64;
        let topic = rng.pick(TOPICS);
        let incoming = i % 3 == 2;
        let mut p = BTreeMap::new();
        p.insert("hs_timestamp".to_owned(), format_ms(created));
        p.insert(
            "hubspot_owner_id".to_owned(),
            to.owners[rng.below(to.owners.len())].to_string(),
        );
        let subject = if incoming {
            format!("Re: {topic}")
        } else {
            format!("About {topic}")
        };
        let text = format!("Hello, a note about {topic}.");
        p.insert("hs_email_html".to_owned(), format!("<p>{text}</p>"));
        p.insert("hs_email_subject".to_owned(), subject);
        p.insert("hs_email_text".to_owned(), text);
        p.insert(
            "hs_email_direction".to_owned(),
            if incoming { "INCOMING_EMAIL" } else { "EMAIL" }.to_owned(),
        );
        p.insert("hs_email_status".to_owned(), "SENT".to_owned());
        let id = account.insert_raw(ObjectType::Emails, p, created, updated);
        let contact = to.contacts[rng.below(to.contacts.len())];
        link(
            account,
            ObjectType::Emails,
            id,
            ObjectType::Contacts,
            contact,
        );
        let company = account
            .associations(ObjectType::Contacts, contact, ObjectType::Companies)
            .first()
            .map(|(company, _)| *company)
            .unwrap_or(to.companies[0]);
        link(
            account,
            ObjectType::Emails,
            id,
            ObjectType::Companies,
            company,
        );
        if !to.deals.is_empty() && i % 2 == 0 {
            let deal = to.deals[rng.below(to.deals.len())];
            link(account, ObjectType::Emails, id, ObjectType::Deals, deal);
        }
    }
}

fn link(account: &mut Account, from: ObjectType, from_id: u64, to: ObjectType, to_id: u64) {
    // Both records were just made live, so the default association cannot fail.
    let _ = account.associate_default(from, &from_id.to_string(), to, &to_id.to_string());
}

#[cfg(test)]
mod tests;
