"""Word lists and distributions of the synthetic world.

Weights are relative (they need not sum to 100). Everything here is data: the generator turns
these lists into SQL ``CASE`` expressions and list literals, so editing a list changes the world
without touching the SQL.
"""

from __future__ import annotations

SITE = "https://www.example-saas.com"
COMPANY_EMAIL_DOMAIN = "example-saas.com"  # our own reps' domain (User.Email)

# People at these domains work for competitors: a disqualifier for scoring. Keep in step with
# dbt_project/seeds/email_domain_lists.csv (list_name = competitor).
COMPETITOR_DOMAINS: tuple[str, ...] = ("competitor-one.com", "rivalscore.io")
COMPETITOR_NAMES: tuple[str, ...] = ("Competitor One", "RivalScore")

# Free mailbox providers: a person with one of these is not identified with a company. Every
# one is in dbt_project/seeds/email_domain_lists.csv (list_name = personal).
PERSONAL_EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "aol.com",
    "icloud.com",
    "protonmail.com",
    "gmx.de",
    "web.de",
    "live.com",
)
PERSONAL_EMAIL_WEIGHTS: tuple[float, ...] = (45, 12, 10, 12, 3, 8, 3, 3, 2, 2)

# Countries no rep may sell to.
UNSERVICED_COUNTRIES: tuple[str, ...] = ("Iran", "Cuba", "North Korea", "Syria")
ICP_COUNTRIES: tuple[str, ...] = (
    "United States",
    "Canada",
    "United Kingdom",
    "Germany",
    "Netherlands",
    "Australia",
)
ICP_INDUSTRIES: tuple[str, ...] = ("Software", "Financial Services", "Telecommunications")

# (country, weight, sales team index into TEAMS)
COUNTRIES: tuple[tuple[str, float, int], ...] = (
    ("United States", 40, 0),
    ("Canada", 6, 0),
    ("United Kingdom", 10, 1),
    ("Germany", 7, 1),
    ("France", 5, 1),
    ("Netherlands", 4, 1),
    ("Australia", 5, 2),
    ("India", 6, 2),
    ("Brazil", 3, 0),
    ("Singapore", 3, 2),
    ("Japan", 3, 2),
    ("Spain", 2, 1),
    ("Sweden", 1.5, 1),
    ("Ireland", 1.5, 1),
    ("Mexico", 1.5, 0),
    ("Iran", 0.4, 0),
    ("Cuba", 0.3, 0),
    ("North Korea", 0.2, 0),
    ("Syria", 0.3, 0),
)
COUNTRY_MISSING_WEIGHT = 2.5  # accounts with no BillingCountry

US_STATES: tuple[tuple[str, float], ...] = (
    ("CA", 18), ("NY", 12), ("TX", 10), ("MA", 7), ("WA", 6), ("IL", 6), ("FL", 6),
    ("GA", 4), ("CO", 4), ("NC", 4), ("VA", 4), ("NJ", 4), ("PA", 4), ("OH", 3),
    ("MN", 2), ("UT", 2), ("OR", 2), ("AZ", 2),
)
CA_PROVINCES: tuple[tuple[str, float], ...] = (
    ("ON", 40), ("BC", 22), ("QC", 20), ("AB", 14), ("NS", 4),
)

INDUSTRIES: tuple[tuple[str, float], ...] = (
    ("Software", 18),
    ("Financial Services", 10),
    ("Healthcare", 9),
    ("Manufacturing", 9),
    ("Retail", 7),
    ("Education", 5),
    ("Government", 3),
    ("Media", 4),
    ("Telecommunications", 4),
    ("Non-Profit", 3),
    ("Consulting", 6),
    ("Insurance", 3),
    ("Transportation", 3),
    ("Energy", 2),
    ("Real Estate", 2),
    ("Hospitality", 2),
)
INDUSTRY_MISSING_WEIGHT = 4.0

ACCOUNT_TYPES: tuple[tuple[str | None, float], ...] = (
    ("Prospect", 70), ("Customer", 18), ("Partner", 4), ("Other", 3), (None, 5),
)

# (technology, base probability of being in an account's stack)
TECHNOLOGIES: tuple[tuple[str, float], ...] = (
    ("Salesforce", 0.40),
    ("HubSpot", 0.25),
    ("Marketo", 0.12),
    ("Pardot", 0.06),
    ("Snowflake", 0.18),
    ("dbt", 0.10),
    ("Segment", 0.12),
    ("Outreach", 0.10),
    ("Salesloft", 0.06),
    ("Gong", 0.08),
    ("Google Analytics", 0.55),
    ("Slack", 0.45),
    ("Zendesk", 0.18),
    ("Intercom", 0.10),
    ("Tableau", 0.12),
    ("Looker", 0.08),
    ("AWS", 0.40),
    ("Databricks", 0.06),
)

# Company names are ADJECTIVE NOUN SUFFIX; the domain is the three run together.
COMPANY_ADJECTIVES: tuple[str, ...] = (
    "Blue", "Red", "Green", "Silver", "Golden", "Bright", "Swift", "North", "South", "East",
    "West", "Iron", "Clear", "Deep", "High", "Prime", "Bold", "Quiet", "Rapid", "True",
    "Open", "Summit", "Cedar", "Maple", "Oak", "Pine", "River", "Stone", "Crystal", "Polar",
    "Solar", "Lunar", "Urban", "Alpine", "Coastal", "Vivid", "Noble", "Lucky", "Smart", "Bravo",
    "Apex", "Nova", "Echo", "Delta", "Sigma", "Atlas", "Orbit", "Pixel", "Quantum", "Vertex",
    "Fusion", "Cobalt", "Amber", "Scarlet", "Indigo", "Ivory", "Jade", "Onyx", "Ruby", "Velvet",
)
COMPANY_NOUNS: tuple[str, ...] = (
    "Harbor", "Peak", "Ridge", "Field", "Bridge", "Forge", "Works", "Wave", "Signal", "Cloud",
    "Path", "Point", "Gate", "Stream", "Spring", "Valley", "Canyon", "Lake", "Island", "Grove",
    "Falcon", "Hawk", "Eagle", "Fox", "Wolf", "Bear", "Lion", "Tiger", "Otter", "Raven",
    "Beacon", "Compass", "Anchor", "Arrow", "Circle", "Square", "Prism", "Matrix", "Vector",
    "Pulse", "Spark", "Flame", "Frost", "Storm", "Thunder", "Horizon", "Meadow", "Harvest",
    "Garden", "Castle",
    "Tower", "Rocket", "Engine", "Motion", "Logic", "Mind", "Craft", "Labs", "Hive", "Nest",
)
COMPANY_SUFFIXES: tuple[str, ...] = (
    "Systems", "Technologies", "Analytics", "Group", "Software", "Health", "Financial",
    "Networks", "Solutions", "Partners", "Media", "Logistics", "Industries", "Digital",
)
TLDS: tuple[tuple[str, float], ...] = (
    (".com", 75), (".io", 8), (".co", 5), (".ai", 4), (".net", 5), (".org", 3),
)

FIRST_NAMES: tuple[str, ...] = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony",
    "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily",
    "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Dorothy", "Kevin", "Carol", "Brian",
    "Amanda", "George", "Melissa", "Edward", "Deborah", "Ronald", "Stephanie", "Timothy",
    "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Kathleen",
    "Gary", "Amy", "Nicholas", "Shirley", "Eric", "Angela", "Jonathan", "Helen", "Stephen",
    "Anna", "Larry", "Brenda", "Justin", "Pamela", "Scott", "Nicole", "Brandon", "Emma",
    "Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Frank", "Debra",
    "Alexander", "Rachel", "Raymond", "Catherine", "Patrick", "Carolyn", "Jack", "Janet",
    "Dennis", "Ruth", "Jerry", "Maria", "Priya", "Rahul", "Wei", "Mei", "Hiroshi", "Yuki",
    "Lukas", "Sophie", "Pierre", "Camille", "Lars", "Ingrid", "Mateo", "Lucia", "Aisha",
    "Omar", "Chloe", "Noah", "Olivia", "Liam", "Ava", "Ethan", "Mia", "Lucas", "Zoe",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
    "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
    "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
    "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price",
    "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
    "Schmidt", "Muller", "Schneider", "Fischer", "Weber", "Dubois", "Moreau", "Laurent",
    "Jansen", "DeVries", "Bakker", "Sharma", "Gupta", "Singh", "Kumar", "Wang", "Li", "Zhang",
    "Chen", "Liu", "Tanaka", "Suzuki", "Sato", "Watanabe", "Silva", "Santos", "Oliveira",
    "Andersson", "Johansson", "Larsen", "OBrien", "Walsh", "Byrne", "Novak", "Kowalski",
)

SENIOR_LEVELS = ("C-Level", "VP", "Director", "Head")
TARGET_FUNCTIONS = ("Marketing", "Sales", "Revenue Operations", "Growth")

# (title, weight, seniority, function); seniority "Other" marks students, interns, unemployed.
TITLES: tuple[tuple[str, float, str, str], ...] = (
    ("CEO", 1.5, "C-Level", "Executive"),
    ("Founder", 1.0, "C-Level", "Executive"),
    ("CFO", 0.8, "C-Level", "Finance"),
    ("CTO", 1.0, "C-Level", "Engineering"),
    ("COO", 0.5, "C-Level", "Operations"),
    ("CMO", 1.0, "C-Level", "Marketing"),
    ("Chief Revenue Officer", 0.7, "C-Level", "Sales"),
    ("VP Marketing", 2.0, "VP", "Marketing"),
    ("VP Sales", 2.0, "VP", "Sales"),
    ("VP Revenue Operations", 1.0, "VP", "Revenue Operations"),
    ("VP Growth", 0.7, "VP", "Growth"),
    ("VP Engineering", 1.0, "VP", "Engineering"),
    ("VP Finance", 0.5, "VP", "Finance"),
    ("VP Customer Success", 0.7, "VP", "Customer Success"),
    ("Director of Marketing", 3.0, "Director", "Marketing"),
    ("Director of Demand Generation", 2.0, "Director", "Marketing"),
    ("Director of Marketing Operations", 1.2, "Director", "Marketing"),
    ("Director of Revenue Operations", 1.5, "Director", "Revenue Operations"),
    ("Director of Sales", 2.0, "Director", "Sales"),
    ("Director of Sales Operations", 1.2, "Director", "Revenue Operations"),
    ("Director of Engineering", 1.5, "Director", "Engineering"),
    ("Director of IT", 1.2, "Director", "IT"),
    ("Director of Finance", 0.8, "Director", "Finance"),
    ("Head of Growth", 1.5, "Head", "Growth"),
    ("Head of Marketing", 1.5, "Head", "Marketing"),
    ("Head of Sales", 1.0, "Head", "Sales"),
    ("Head of RevOps", 1.0, "Head", "Revenue Operations"),
    ("Head of Data", 1.0, "Head", "Data"),
    ("Marketing Manager", 5.0, "Manager", "Marketing"),
    ("Marketing Operations Manager", 3.0, "Manager", "Marketing"),
    ("Demand Generation Manager", 3.0, "Manager", "Marketing"),
    ("Product Marketing Manager", 2.5, "Manager", "Marketing"),
    ("Sales Manager", 3.0, "Manager", "Sales"),
    ("Sales Operations Manager", 2.0, "Manager", "Revenue Operations"),
    ("Revenue Operations Manager", 2.0, "Manager", "Revenue Operations"),
    ("Growth Manager", 1.5, "Manager", "Growth"),
    ("Engineering Manager", 2.0, "Manager", "Engineering"),
    ("IT Manager", 2.0, "Manager", "IT"),
    ("Account Manager", 2.0, "Manager", "Sales"),
    ("Customer Success Manager", 2.0, "Manager", "Customer Success"),
    ("HR Manager", 1.2, "Manager", "HR"),
    ("Sales Development Rep", 4.0, "Individual Contributor", "Sales"),
    ("Account Executive", 4.0, "Individual Contributor", "Sales"),
    ("Marketing Specialist", 3.0, "Individual Contributor", "Marketing"),
    ("Marketing Coordinator", 2.5, "Individual Contributor", "Marketing"),
    ("Revenue Operations Analyst", 1.5, "Individual Contributor", "Revenue Operations"),
    ("Data Analyst", 3.0, "Individual Contributor", "Data"),
    ("Analyst", 3.0, "Individual Contributor", "Other"),
    ("Business Analyst", 2.0, "Individual Contributor", "Operations"),
    ("Software Engineer", 6.0, "Individual Contributor", "Engineering"),
    ("Data Engineer", 2.5, "Individual Contributor", "Data"),
    ("Product Manager", 3.0, "Individual Contributor", "Product"),
    ("Designer", 1.5, "Individual Contributor", "Product"),
    ("Consultant", 2.0, "Individual Contributor", "Other"),
    ("Recruiter", 1.0, "Individual Contributor", "HR"),
    ("Accountant", 1.5, "Individual Contributor", "Finance"),
    ("Office Manager", 1.0, "Individual Contributor", "Operations"),
    ("Student", 1.4, "Other", "Student"),
    ("Graduate Student", 0.5, "Other", "Student"),
    ("Intern", 0.9, "Other", "Student"),
    ("Marketing Intern", 0.6, "Other", "Student"),
    ("Unemployed", 0.5, "Other", "None"),
)
TITLE_MISSING_WEIGHT = 4.0

LEAD_SOURCES: tuple[tuple[str, float], ...] = (
    ("Web", 30), ("Organic Search", 12), ("Paid Search", 10), ("Webinar", 10),
    ("Content Syndication", 8), ("Event", 6), ("Referral", 5), ("Partner", 4),
    ("Trial Signup", 5), ("Purchased List", 5), ("Outbound", 5),
)

# Sales org. Department of every rep is their team.
TEAMS: tuple[str, ...] = ("Sales - NA", "Sales - EMEA", "Sales - APAC", "SDR")
# Rep i (0-based, active and inactive counted separately) joins TEAM_PATTERN[i % 20]:
# 40 % NA, 25 % EMEA, 15 % APAC, 20 % SDR, and the first four reps cover every team.
TEAM_PATTERN: tuple[int, ...] = (0, 1, 2, 3, 0, 1, 0, 3, 0, 1, 2, 0, 1, 3, 0, 2, 0, 1, 3, 0)
TEAM_TIMEZONES: tuple[tuple[str, ...], ...] = (
    ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
    ("Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Amsterdam"),
    ("Australia/Sydney", "Asia/Singapore", "Asia/Tokyo", "Asia/Kolkata"),
    ("America/New_York", "America/Chicago", "Europe/London"),
)

OPEN_STAGES: tuple[str, ...] = (
    "Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
    "Proposal/Price Quote", "Negotiation/Review",
)
OPPORTUNITY_KINDS: tuple[str, ...] = (
    "New Business", "New Business", "New Business", "Pilot", "Expansion",
)

# Marketo activity type ids (the dbt seeds map these to event types).
ACTIVITY_TYPES: dict[int, str] = {
    1: "page_view",
    2: "form_submit",
    6: "email_sent",
    8: "email_bounced_hard",
    27: "email_bounced_soft",
    9: "unsubscribe",
    10: "email_open",
    11: "email_click",
    100001: "webinar_registered",
    100002: "webinar_attended",
    100003: "content_download",
    100004: "demo_request",
    100005: "free_trial_signup",
    100006: "event_attended",
}
# Event types that also arrive through the generic JSONL feed (web and product events).
JSONL_EVENT_TYPES: tuple[int, ...] = (1, 2, 100003, 100004, 100005)

# Regular activity mix: (type id, a, b) with weight a + b * propensity.
ACTIVITY_MIX: tuple[tuple[int, float, float], ...] = (
    (1, 46.0, 0.0),
    (6, 20.0, -8.0),
    (10, 10.0, -2.0),
    (11, 3.0, 4.0),
    (2, 3.0, 2.0),
    (100003, 3.0, 2.0),
    (100001, 1.5, 3.0),
    (100002, 0.5, 3.0),
    (100004, 0.05, 3.0),
    (100005, 0.2, 2.0),
    (100006, 0.5, 1.0),
)

# Web pages: (category, a, b) with weight a + b * propensity.
PAGE_MIX: tuple[tuple[str, float, float], ...] = (
    ("/", 12, 0),
    ("/blog/", 32, -28),
    ("/docs/", 10, 0),
    ("/product", 8, 6),
    ("/product/integrations", 2, 14),
    ("/pricing", 1.5, 32),
    ("/customers/", 4, 5),
    ("/careers", 5, -4.5),
    ("/careers/", 3, -2.8),
    ("/demo", 0.5, 10),
)
BLOG_SLUGS: tuple[str, ...] = (
    "lead-scoring-101", "revops-metrics-that-matter", "intent-data-guide", "mql-vs-sql",
    "pipeline-forecasting", "crm-data-quality", "abm-playbook", "lead-routing-best-practices",
    "speed-to-lead", "dbt-for-revops", "marketing-attribution-models", "webinar-recap-q3",
    "buying-committees", "icp-definition",
)
DOCS_SLUGS: tuple[str, ...] = (
    "getting-started", "api", "salesforce-integration", "hubspot-integration", "scoring-rules",
    "routing", "sla-policies", "webhooks", "sso", "data-retention",
)
CUSTOMER_SLUGS: tuple[str, ...] = (
    "acme-corp", "globex", "initech", "umbrella-health", "hooli", "stark-industries",
    "wayne-finance",
)
CAREER_JOBS: tuple[str, ...] = (
    "senior-data-engineer", "account-executive-na", "sdr-emea", "product-designer",
    "customer-success-manager", "marketing-intern",
)
REFERRERS: tuple[str, ...] = (
    "https://www.google.com/", "https://www.linkedin.com/", "https://www.bing.com/",
    "https://news.ycombinator.com/", "https://www.g2.com/", "",
)
UTM_QUERIES: tuple[str, ...] = (
    "utm_source=linkedin&utm_medium=paid&utm_campaign=q4-abm",
    "utm_source=google&utm_medium=cpc&utm_campaign=brand",
    "utm_source=newsletter&utm_medium=email",
    "utm_source=g2&utm_medium=referral",
)
FORM_NAMES: tuple[str, ...] = (
    "Contact Us", "Newsletter Signup", "Gated Content", "Event Registration", "Partner Inquiry",
)
FORM_PAGES: tuple[str, ...] = (
    "/", "/product", "/blog/lead-scoring-101", "/customers/globex", "/docs/getting-started",
)
ASSETS: tuple[str, ...] = (
    "Ebook: The RevOps Playbook", "Report: State of Lead Scoring 2026", "Whitepaper: Intent Data",
    "Checklist: Speed to Lead", "Template: SLA Policy",
)
EMAIL_NAMES: tuple[str, ...] = (
    "Newsletter - Monthly", "Nurture - Lead Scoring 1", "Nurture - Lead Scoring 2",
    "Nurture - Routing 1", "Product Update", "Webinar Invite", "Event Invite", "Trial Follow-up",
)
WEBINARS: tuple[str, ...] = (
    "Webinar: Scoring Leads with dbt", "Webinar: Routing that Reps Trust",
    "Webinar: From MQL to Revenue", "Webinar: Intent Signals 101",
)
EVENTS: tuple[str, ...] = ("RevOps Summit", "SaaStr Annual", "Dreamforce Booth", "Local Meetup")
TRIAL_PLANS: tuple[str, ...] = ("Team", "Business", "Enterprise")
HARD_BOUNCE_DETAILS = "550 5.1.1 The email account that you tried to reach does not exist"
SOFT_BOUNCE_DETAILS = "452 4.2.2 The email account that you tried to reach is over quota"

TASK_KINDS: tuple[tuple[str, str, float], ...] = (
    ("Call", "Call", 25), ("Call", "Left voicemail", 12), ("Call", "Discovery call", 8),
    ("Email", "Email: Intro", 20), ("Email", "Email: Follow up", 20),
    ("Email", "Email: Re: your demo request", 5), ("Meeting", "Meeting: Demo", 10),
)
