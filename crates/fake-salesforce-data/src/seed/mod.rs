//! Deterministic seeded orgs: users, accounts with contacts, leads, opportunities across
//! stages, tasks, events and notes. The same options and clock give byte-identical data.

mod words;

use crate::datetime::{MS_PER_DAY, day_of_ms};
use crate::ids::SfId;
use crate::org::{NewUser, Org, OrgOptions};
use crate::schema::{CustomFieldSpec, DEFAULT_STAGES, SchemaError};
use crate::value::Value;
use words::*;

/// How to seed an org.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub seed: u64,
    /// Roughly the number of CRM records (accounts, contacts, leads, opportunities, tasks,
    /// events, notes); users and stages come on top.
    pub records: usize,
    /// Username of the first (default) user.
    pub default_username: String,
    pub custom_fields: Vec<CustomFieldSpec>,
    /// Distinguishes orgs (the org id derives from it).
    pub org_number: u64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            seed: 1,
            records: 1000,
            default_username: "admin@example.com".to_owned(),
            custom_fields: CustomFieldSpec::defaults(),
            org_number: 1,
        }
    }
}

/// splitmix64: tiny, fast, and good enough for plausible fake data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (0 when n is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo).max(0) as u64 + 1) as i64
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
    fn word<'a>(&mut self, items: &[&'a str]) -> &'a str {
        self.pick(items).copied().unwrap_or_default()
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Picklist values of a standard field, so seeds use exactly what the schema allows.
fn picklist(org: &Org, object: &str, field: &str) -> Vec<String> {
    (org.schema().object(object))
        .and_then(|o| o.field(field))
        .map(|f| f.picklist.clone())
        .unwrap_or_default()
}

struct Seeder {
    org: Org,
    rng: Rng,
    now: i64,
    users: Vec<SfId>,
}

impl Seeder {
    fn text(&mut self, items: &[String]) -> Value {
        self.rng.pick(items).map_or(Value::Null, |s| Value::text(s))
    }

    /// A creation time in the past year, and the record's owner.
    fn insert(&mut self, object: &str, fields: &[(&str, Value)]) -> SfId {
        let created = self.now - self.rng.range(1, 365 * 24 * 60) * 60_000;
        let owner = self
            .rng
            .pick(&self.users)
            .copied()
            .unwrap_or(self.org.default_user_id());
        let mut all: Vec<(&str, Value)> = fields.to_vec();
        if self
            .org
            .schema()
            .object(object)
            .is_some_and(|o| o.field("OwnerId").is_some())
        {
            all.push(("OwnerId", Value::Id(owner)));
        }
        let id = self.org.insert_raw(object, &all, owner, created);
        // A third of the records were edited since they were created.
        if self.rng.chance(33) {
            let modified = self.rng.range(created, self.now);
            self.org.set_modified(id, owner, modified);
        }
        id
    }

    fn person(&mut self) -> (&'static str, &'static str) {
        (self.rng.word(FIRST_NAMES), self.rng.word(LAST_NAMES))
    }

    fn address(&mut self, prefix: &str) -> Vec<(String, Value)> {
        let Some(&(city, state, country, postal)) = self.rng.pick(CITIES) else {
            return Vec::new();
        };
        let street = format!("{} {}", self.rng.range(1, 999), self.rng.word(STREETS));
        let postal = format!("{postal}{:02}", self.rng.below(100));
        vec![
            (format!("{prefix}Street"), Value::text(&street)),
            (format!("{prefix}City"), Value::text(city)),
            (format!("{prefix}State"), Value::text(state)),
            (format!("{prefix}PostalCode"), Value::text(&postal)),
            (format!("{prefix}Country"), Value::text(country)),
        ]
    }

    fn phone(&mut self) -> Value {
        Value::text(&format!(
            "+1 {}-555-{:04}",
            self.rng.range(201, 989),
            self.rng.below(10_000)
        ))
    }
}

fn with_owned<'a>(base: &mut Vec<(&'a str, Value)>, owned: &'a [(String, Value)]) {
    base.extend(owned.iter().map(|(k, v)| (k.as_str(), v.clone())));
}

impl Org {
    /// A realistic org with about `options.records` CRM records, deterministic in
    /// `options.seed` and `now_ms`.
    pub fn seeded(options: &SeedOptions, now_ms: i64) -> Result<Org, SchemaError> {
        let org = Org::new(
            &OrgOptions {
                org_number: options.org_number,
                default_username: options.default_username.clone(),
                custom_fields: options.custom_fields.clone(),
            },
            now_ms,
        )?;
        let users = vec![org.default_user_id()];
        let mut s = Seeder {
            org,
            rng: Rng(options.seed),
            now: now_ms,
            users,
        };
        seed_users(
            &mut s,
            &options.default_username,
            2 + (options.records / 10_000).min(22),
        );
        let n = options.records;
        let share = |percent: usize| (n * percent).div_ceil(100);
        let accounts = seed_accounts(&mut s, share(10).max(usize::from(n > 0)));
        let contacts = seed_contacts(&mut s, share(30), &accounts);
        let leads = seed_leads(&mut s, share(15), &accounts);
        let opportunities = seed_opportunities(&mut s, share(12), &accounts);
        let parents = Parents {
            accounts,
            contacts,
            leads,
            opportunities,
        };
        seed_activities(&mut s, share(15), share(8), &parents);
        seed_notes(&mut s, share(10), &parents);
        Ok(s.org)
    }

    /// Marks a record as last modified at `at` (seeding only).
    fn set_modified(&mut self, id: SfId, user: SfId, at: i64) {
        let Some(r) = self.index.get(&id).copied() else {
            return;
        };
        if let Some(row) = self
            .tables
            .get_mut(usize::from(r.object))
            .and_then(|t| t.get_mut(r.row as usize))
        {
            crate::org::touch(row, user, at);
        }
    }
}

fn seed_users(s: &mut Seeder, default_username: &str, extra: usize) {
    let domain = default_username
        .split_once('@')
        .map_or("example.com", |(_, d)| d)
        .to_owned();
    for i in 0..extra {
        let (first, last) = s.person();
        let username = format!("{}.{}{}@{domain}", slug(first), slug(last), i + 2);
        let user = NewUser {
            username: username.clone(),
            email: username,
            first_name: Some(first.to_owned()),
            last_name: last.to_owned(),
        };
        let creator = s.org.default_user_id();
        let id = s
            .org
            .insert_user_unchecked(&user, creator, s.now - 400 * MS_PER_DAY);
        s.users.push(id);
    }
}

/// The records activities and notes can point at.
struct Parents {
    accounts: Vec<SfId>,
    contacts: Vec<(SfId, Option<SfId>)>,
    leads: Vec<SfId>,
    opportunities: Vec<SfId>,
}

fn seed_accounts(s: &mut Seeder, count: usize) -> Vec<SfId> {
    let industries = picklist(&s.org, "Account", "Industry");
    let types = picklist(&s.org, "Account", "Type");
    let ratings = picklist(&s.org, "Account", "Rating");
    let tiers = picklist(&s.org, "Account", "Tier__c");
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let name = format!(
            "{} {} {}",
            s.rng.word(COMPANY_A),
            s.rng.word(COMPANY_B),
            s.rng.word(COMPANY_SUFFIX)
        );
        let site = format!("https://www.{}{}.example", slug(&name), i);
        let billing = s.address("Billing");
        let mut fields = vec![
            ("Name", Value::text(&name)),
            ("Website", Value::text(&site)),
            ("Industry", s.text(&industries)),
            ("Type", s.text(&types)),
            ("Rating", s.text(&ratings)),
            ("Phone", s.phone()),
            ("NumberOfEmployees", Value::Int(s.rng.range(5, 50_000))),
            (
                "AnnualRevenue",
                Value::Num((s.rng.range(1, 5_000) * 100_000) as f64),
            ),
            ("AccountNumber", Value::text(&format!("ACC-{:06}", i + 1))),
        ];
        if !tiers.is_empty() {
            fields.push(("Tier__c", s.text(&tiers)));
        }
        with_owned(&mut fields, &billing);
        let shipping = if s.rng.chance(50) {
            billing
                .iter()
                .map(|(k, v)| (k.replacen("Billing", "Shipping", 1), v.clone()))
                .collect()
        } else {
            Vec::new()
        };
        with_owned(&mut fields, &shipping);
        out.push(s.insert("Account", &fields));
    }
    out
}

fn seed_contacts(s: &mut Seeder, count: usize, accounts: &[SfId]) -> Vec<(SfId, Option<SfId>)> {
    let sources = picklist(&s.org, "Contact", "LeadSource");
    let salutations = picklist(&s.org, "Contact", "Salutation");
    let tiers = picklist(&s.org, "Contact", "Tier__c");
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (first, last) = s.person();
        let account = if s.rng.chance(90) {
            s.rng.pick(accounts).copied()
        } else {
            None
        };
        let email = format!(
            "{}.{}{}@{}.example",
            slug(first),
            slug(last),
            i + 1,
            ["mail", "corp", "work"][i % 3]
        );
        let mut fields = vec![
            ("FirstName", Value::text(first)),
            ("LastName", Value::text(last)),
            ("Salutation", s.text(&salutations)),
            ("Email", Value::text(&email)),
            ("Phone", s.phone()),
            ("Title", Value::text(s.rng.word(TITLES))),
            ("Department", Value::text(s.rng.word(DEPARTMENTS))),
            ("LeadSource", s.text(&sources)),
            ("AccountId", account.map_or(Value::Null, Value::Id)),
        ];
        if s.rng.chance(40) {
            fields.push(("MobilePhone", s.phone()));
        }
        if s.rng.chance(30) {
            let birth = day_of_ms(s.now) - s.rng.range(22 * 365, 65 * 365);
            fields.push(("Birthdate", Value::Date(birth)));
        }
        if !tiers.is_empty() && s.rng.chance(50) {
            fields.push(("Tier__c", s.text(&tiers)));
        }
        let mailing = s.address("Mailing");
        with_owned(&mut fields, &mailing);
        out.push((s.insert("Contact", &fields), account));
    }
    out
}

fn seed_leads(s: &mut Seeder, count: usize, accounts: &[SfId]) -> Vec<SfId> {
    let statuses = picklist(&s.org, "Lead", "Status");
    let sources = picklist(&s.org, "Lead", "LeadSource");
    let industries = picklist(&s.org, "Lead", "Industry");
    let ratings = picklist(&s.org, "Lead", "Rating");
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (first, last) = s.person();
        let company = format!("{} {}", s.rng.word(COMPANY_A), s.rng.word(COMPANY_B));
        let status = s.text(&statuses);
        let converted = status.as_text() == Some("Closed - Converted");
        let mut fields = vec![
            ("FirstName", Value::text(first)),
            ("LastName", Value::text(last)),
            ("Company", Value::text(&company)),
            (
                "Email",
                Value::text(&format!(
                    "{}.{}{}@{}.example",
                    slug(first),
                    slug(last),
                    i + 1,
                    slug(&company)
                )),
            ),
            ("Phone", s.phone()),
            ("Title", Value::text(s.rng.word(TITLES))),
            ("Status", status),
            ("LeadSource", s.text(&sources)),
            ("Industry", s.text(&industries)),
            ("Rating", s.text(&ratings)),
            ("NumberOfEmployees", Value::Int(s.rng.range(1, 5_000))),
        ];
        if converted {
            let day = day_of_ms(s.now) - s.rng.range(1, 120);
            fields.push(("IsConverted", Value::Bool(true)));
            fields.push(("ConvertedDate", Value::Date(day)));
            if let Some(a) = s.rng.pick(accounts) {
                fields.push(("ConvertedAccountId", Value::Id(*a)));
            }
        }
        let address = s.address("");
        with_owned(&mut fields, &address);
        out.push(s.insert("Lead", &fields));
    }
    out
}

fn seed_opportunities(s: &mut Seeder, count: usize, accounts: &[SfId]) -> Vec<SfId> {
    let types = picklist(&s.org, "Opportunity", "Type");
    let sources = picklist(&s.org, "Opportunity", "LeadSource");
    let today = day_of_ms(s.now);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let Some(&account) = s.rng.pick(accounts) else {
            break;
        };
        let stage = s
            .rng
            .pick(&DEFAULT_STAGES)
            .copied()
            .unwrap_or(DEFAULT_STAGES[0]);
        let close = if stage.is_closed {
            today - s.rng.range(1, 300)
        } else {
            today + s.rng.range(0, 180)
        };
        let name = format!("{} {}", s.rng.word(COMPANY_A), s.rng.word(PRODUCTS));
        let fields = vec![
            ("Name", Value::text(&name)),
            ("AccountId", Value::Id(account)),
            ("StageName", Value::text(stage.label)),
            ("CloseDate", Value::Date(close)),
            ("Amount", Value::Num((s.rng.range(5, 2_000) * 500) as f64)),
            ("Type", s.text(&types)),
            ("LeadSource", s.text(&sources)),
            ("NextStep", Value::text(s.rng.word(TASK_SUBJECTS))),
        ];
        out.push(s.insert("Opportunity", &fields));
    }
    out
}

/// Who and What of an activity: a contact and its account, or a lead; sometimes an opportunity.
fn who_what(s: &mut Seeder, p: &Parents) -> (Value, Value) {
    if s.rng.chance(70)
        && let Some(&(contact, account)) = s.rng.pick(&p.contacts)
    {
        let what = if s.rng.chance(30) {
            s.rng.pick(&p.opportunities).copied().or(account)
        } else {
            account
        };
        return (Value::Id(contact), what.map_or(Value::Null, Value::Id));
    }
    let who = s.rng.pick(&p.leads).copied().map_or(Value::Null, Value::Id);
    (who, Value::Null)
}

fn seed_activities(s: &mut Seeder, tasks: usize, events: usize, p: &Parents) {
    let statuses = picklist(&s.org, "Task", "Status");
    let priorities = picklist(&s.org, "Task", "Priority");
    let today = day_of_ms(s.now);
    for _ in 0..tasks {
        let (who, what) = who_what(s, p);
        let subtype = s.rng.word(&["Task", "Call", "Email"]);
        let fields = vec![
            ("Subject", Value::text(s.rng.word(TASK_SUBJECTS))),
            ("WhoId", who),
            ("WhatId", what),
            ("Status", s.text(&statuses)),
            ("Priority", s.text(&priorities)),
            ("ActivityDate", Value::Date(today + s.rng.range(-90, 30))),
            ("TaskSubtype", Value::text(subtype)),
            (
                "Type",
                Value::text(if subtype == "Task" { "Other" } else { subtype }),
            ),
        ];
        s.insert("Task", &fields);
    }
    for _ in 0..events {
        let (who, what) = who_what(s, p);
        let start = (today + s.rng.range(-60, 60)) * MS_PER_DAY + s.rng.range(8, 17) * 3_600_000;
        let all_day = s.rng.chance(10);
        let fields = vec![
            ("Subject", Value::text(s.rng.word(EVENT_SUBJECTS))),
            ("WhoId", who),
            ("WhatId", what),
            ("StartDateTime", Value::DateTime(start)),
            (
                "DurationInMinutes",
                Value::Int(*s.rng.pick(&[30, 45, 60, 90]).unwrap_or(&30)),
            ),
            ("IsAllDayEvent", Value::Bool(all_day)),
            (
                "Location",
                Value::text(s.rng.pick(CITIES).map_or("", |c| c.0)),
            ),
            ("ShowAs", Value::text("Busy")),
        ];
        s.insert("Event", &fields);
    }
}

fn seed_notes(s: &mut Seeder, count: usize, p: &Parents) {
    for _ in 0..count {
        let parent = match s.rng.below(4) {
            0 => s.rng.pick(&p.contacts).map(|c| c.0),
            1 => s.rng.pick(&p.opportunities).copied(),
            2 => s.rng.pick(&p.leads).copied(),
            _ => None,
        }
        .or_else(|| s.rng.pick(&p.accounts).copied());
        let Some(parent) = parent else { break };
        let fields = vec![
            ("Title", Value::text(s.rng.word(NOTE_TITLES))),
            ("Body", Value::text(s.rng.word(NOTE_BODIES))),
            ("ParentId", Value::Id(parent)),
            ("IsPrivate", Value::Bool(s.rng.chance(5))),
        ];
        s.insert("Note", &fields);
    }
}

#[cfg(test)]
mod tests;
