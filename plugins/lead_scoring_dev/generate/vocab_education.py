"""Word lists, distributions and effects of the education world (``--profile education``).

A B2C online-education business in the shape of the public "X Education" leads data: people
enquire about a course, counsellors call and message them, a share enrol. Weights are relative;
an *effect* is that value's contribution to the hidden log-odds of enrolling (0 = neutral).
None of the values here is in the scoring seeds' vocabulary (``dbt_project/seeds``): the seeds
were written for the SaaS world, and this world is where a learned model has to beat them.
"""

from __future__ import annotations

SITE = "https://www.example-edu.com"
LIVE_SITE = "https://live.example-edu.com"  # where masterclasses are streamed
COMPANY_EMAIL_DOMAIN = "example-edu.com"  # the counsellors' domain (User.Email)

# Title: the person's occupation (value, weight, effect); None: not given.
OCCUPATIONS: tuple[tuple[str | None, float, float], ...] = (
    ("Unemployed", 58, -0.35),
    ("Working Professional", 8, 1.7),
    ("Student", 3, -0.7),
    ("Self-Employed", 3, 0.4),
    ("Freelancer", 2, 0.2),
    ("Housewife", 1, 0.9),
    ("Businessman", 1, 0.5),
    ("Retired", 1, -0.4),
    ("Other", 1, 0.0),
    (None, 22, -0.5),
)

# Industry: the specialisation the person is interested in; "Select" is the web form's
# placeholder, sent as a value when nothing was chosen.
SPECIALISATIONS: tuple[tuple[str | None, float, float], ...] = (
    ("Select", 21, -0.45),
    ("Finance Management", 10.5, 0.15),
    ("Human Resource Management", 9, 0.2),
    ("Marketing Management", 9, 0.2),
    ("Operations Management", 5.5, 0.15),
    ("Business Administration", 4.4, 0.0),
    ("IT Projects Management", 4, 0.0),
    ("Supply Chain Management", 3.8, 0.0),
    ("Banking, Investment And Insurance", 3.7, 0.2),
    ("Travel and Tourism", 2.2, -0.2),
    ("Media and Advertising", 2.2, 0.0),
    ("International Business", 1.9, -0.1),
    ("Healthcare Management", 1.7, 0.2),
    ("Hospitality Management", 1.2, -0.1),
    ("E-COMMERCE", 1.2, 0.0),
    ("Retail Management", 1.1, -0.2),
    ("Rural and Agribusiness", 0.8, 0.0),
    ("E-Business", 0.6, 0.0),
    ("Services Excellence", 0.4, -0.2),
    (None, 15, -0.3),
)

# LeadSource (value, weight, effect). Olark Chat leads start with a chat and rarely browse;
# Reference and Welingak Website leads are added by counsellors and enrol most.
OLARK_CHAT = "Olark Chat"
LEAD_SOURCES: tuple[tuple[str, float, float], ...] = (
    ("Google", 31, 0.0),
    ("Direct Traffic", 27, -0.1),
    (OLARK_CHAT, 19, -0.5),
    ("Organic Search", 12, 0.0),
    ("Reference", 6, 2.0),
    ("Welingak Website", 1.5, 2.4),
    ("Referral Sites", 1.3, -0.2),
    ("Facebook", 0.6, -0.3),
    ("bing", 0.3, 0.0),
    ("Click2call", 0.2, 0.5),
)
# Sources whose leads a counsellor types in (no enquiry form on the site).
COUNSELLOR_SOURCES: tuple[str, ...] = ("Reference", "Welingak Website")

# Country (value, weight); None: not given. The effect of the country is nil.
COUNTRIES: tuple[tuple[str | None, float], ...] = (
    ("India", 70),
    (None, 25),
    ("United Arab Emirates", 0.6),
    ("United States", 0.8),
    ("Singapore", 0.3),
    ("Saudi Arabia", 0.25),
    ("United Kingdom", 0.17),
    ("Australia", 0.15),
    ("Qatar", 0.12),
    ("Bahrain", 0.08),
    ("Hong Kong", 0.08),
    ("Oman", 0.07),
    ("Nigeria", 0.05),
    ("Kuwait", 0.05),
)
INDIA = "India"
INDIA_STATES: tuple[tuple[str | None, float], ...] = (
    ("Maharashtra", 35),
    ("Karnataka", 10),
    ("Delhi", 10),
    ("Uttar Pradesh", 6),
    ("Tamil Nadu", 6),
    ("Telangana", 6),
    ("West Bengal", 5),
    ("Gujarat", 5),
    ("Haryana", 3),
    ("Kerala", 3),
    ("Rajasthan", 3),
    ("Madhya Pradesh", 2),
    ("Punjab", 2),
    ("Andhra Pradesh", 2),
    (None, 10),
)

# Technologies__c carries the form's "How did you hear about us?" (None: not answered).
HEARD_ABOUT: tuple[tuple[str | None, float], ...] = (
    ("Online Search", 9),
    ("Word Of Mouth", 4),
    ("Student of SomeSchool", 3.3),
    ("Other", 2),
    ("Advertisements", 0.8),
    ("Social Media", 0.7),
    ("Email", 0.3),
    ("SMS", 0.3),
    ("Multiple Sources", 0.2),
    (None, 79),
)

# Free mailboxes (domain, weight): most people enquire with one, several unknown to the seeds.
PERSONAL_EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 62),
    ("yahoo.co.in", 9),
    ("yahoo.com", 8),
    ("rediffmail.com", 6),
    ("hotmail.com", 5),
    ("outlook.com", 5),
    ("icloud.com", 1),
)
# Employers of working people: (name, e-mail domain, employees).
EMPLOYERS: tuple[tuple[str, str, int], ...] = (
    ("Sunrise Infotech Pvt Ltd", "sunriseinfotech.in", 1200),
    ("Kaveri Logistics", "kaverilogistics.in", 450),
    ("Deccan Textiles Ltd", "deccantextiles.co.in", 2300),
    ("Northstar BPO Services", "northstarbpo.com", 5200),
    ("Meridian Hospitals", "meridianhospitals.in", 3100),
    ("Indus Retail Ventures", "indusretail.in", 800),
    ("Saffron Hotels & Resorts", "saffronhotels.com", 1500),
    ("Pinnacle Auto Components", "pinnacleauto.co.in", 950),
    ("Greenfield Agro Foods", "greenfieldagro.in", 300),
    ("Coastal Shipping Corp", "coastalshipping.in", 650),
    ("Vistara Media House", "vistaramedia.in", 120),
    ("Lotus Pharma Labs", "lotuspharma.in", 1800),
    ("Bluewave Telecom Services", "bluewavetelecom.in", 4000),
    ("Apex Cement Works", "apexcement.co.in", 1100),
    ("Harbor Capital Advisors", "harborcapital.in", 60),
    ("Quickserve Foods", "quickservefoods.in", 2500),
)
# Corporate partners that sponsor their staff (the world's few Accounts with Contacts).
PARTNER_TITLES: tuple[str, ...] = ("HR Business Partner", "L&D Coordinator", "Talent Specialist")

FIRST_NAMES: tuple[str, ...] = (
    "Aarav", "Aditi", "Aditya", "Akash", "Amit", "Ananya", "Anil", "Anjali", "Ankit", "Anusha",
    "Arjun", "Asha", "Deepak", "Deepika", "Divya", "Gaurav", "Harish", "Isha", "Kavya", "Kiran",
    "Komal", "Lakshmi", "Mahesh", "Manish", "Meera", "Mohit", "Neha", "Nikhil", "Nisha", "Pooja",
    "Pradeep", "Prakash", "Priya", "Rahul", "Rajesh", "Ramesh", "Ravi", "Riya", "Rohan", "Sachin",
    "Sakshi", "Sandeep", "Sanjay", "Shreya", "Shruti", "Sneha", "Sonal", "Suresh", "Swati",
    "Tanvi", "Varun", "Vijay", "Vikram", "Vinay", "Vivek", "Yash", "Zoya", "Farhan", "Imran",
    "Ayesha", "Joseph", "Mary", "Gurpreet", "Harpreet", "Fatima", "David", "Sarah", "Omar",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Sharma", "Verma", "Gupta", "Singh", "Kumar", "Patel", "Shah", "Mehta", "Joshi", "Desai",
    "Iyer", "Nair", "Menon", "Pillai", "Reddy", "Rao", "Naidu", "Das", "Banerjee", "Chatterjee",
    "Mukherjee", "Bose", "Ghosh", "Kulkarni", "Deshpande", "Patil", "Jadhav", "Pawar", "Chavan",
    "Agarwal", "Bansal", "Jain", "Malhotra", "Kapoor", "Khanna", "Chopra", "Sethi", "Bhatia",
    "Saxena", "Mishra", "Tiwari", "Pandey", "Yadav", "Chauhan", "Thakur", "Khan", "Sheikh",
    "Ansari", "Fernandes", "D'Souza", "Gill", "Sandhu", "Hegde", "Shetty", "Kamath", "Bhat",
)  # fmt: skip

# Courses: (slug, name) for URLs, brochures and the Opportunity's name.
COURSES: tuple[tuple[str, str], ...] = (
    ("pg-diploma-finance", "PG Diploma in Finance Management"),
    ("pg-diploma-hr", "PG Diploma in Human Resource Management"),
    ("pg-diploma-marketing", "PG Diploma in Marketing Management"),
    ("pg-diploma-operations", "PG Diploma in Operations Management"),
    ("executive-mba", "Executive MBA"),
    ("pg-it-project-management", "PG Certificate in IT Project Management"),
    ("supply-chain-certificate", "Certificate in Supply Chain Management"),
    ("digital-marketing-certificate", "Certificate in Digital Marketing"),
    ("business-analytics-certificate", "Certificate in Business Analytics"),
    ("healthcare-management", "PG Diploma in Healthcare Management"),
)
COURSE_FEES: tuple[int, ...] = (2200, 2200, 2200, 2200, 4800, 1600, 1200, 1100, 1500, 2400)  # USD

# Pages of the site (path, a, b): weight a + b * propensity, as in vocab.PAGE_MIX; "{course}"
# and "{blog}" are filled with a course or blog slug.
PAGE_MIX: tuple[tuple[str, float, float], ...] = (
    ("/", 20, 0),
    ("/courses", 10, 4),
    ("/courses/{course}", 14, 14),
    ("/courses/{course}/syllabus", 3, 12),
    ("/fees", 3, 12),
    ("/placements", 4, 10),
    ("/alumni", 2, 4),
    ("/scholarships", 6, 0),
    ("/faq", 6, 1),
    ("/blog/{blog}", 16, 0),
    ("/free-resources", 8, 0),
    ("/contact", 2, 2),
)
BLOG_SLUGS: tuple[str, ...] = (
    "is-an-mba-worth-it",
    "career-switch-at-30",
    "hr-analytics-basics",
    "finance-interview-questions",
    "how-to-get-a-scholarship",
    "online-vs-campus-degrees",
    "top-marketing-skills",
    "supply-chain-careers",
)
REFERRERS: tuple[str, ...] = ("google.com", "google.co.in", "bing.com", "facebook.com", "", "", "")
DEVICES: tuple[str, ...] = ("mobile", "mobile", "mobile", "desktop", "desktop", "tablet")
EMAIL_CAMPAIGNS: tuple[str, ...] = (
    "Admissions open: new batch",
    "Scholarship deadline reminder",
    "Free masterclass invite",
    "Alumni success stories",
    "Weekly career tips",
    "Last seats: enrol this week",
)
SMS_TEMPLATES: tuple[str, ...] = (
    "Counsellor introduction",
    "Application link",
    "Fee instalment options",
    "Masterclass reminder",
)
MASTERCLASSES: tuple[tuple[str, str], ...] = (
    ("breaking-into-finance", "Breaking into Finance"),
    ("hr-in-the-age-of-ai", "HR in the Age of AI"),
    ("marketing-careers-2027", "Marketing Careers in 2027"),
    ("operations-excellence", "Operations Excellence"),
)
BOUNCE_REASON = "550 5.1.1 Recipient address rejected: user unknown"

# The MAP events of this world: type id -> event_type in the JSONL landing files. None of
# these is an event type of dbt_project/seeds/intent_signals.csv or marketo_activity_types.csv.
FORM, VISIT, CHAT, BROCHURE, MC_REG, MC_ATT = 1, 2, 3, 4, 5, 6
EMAIL_OPEN, EMAIL_CLICK, SMS, PHONE, UNREACHABLE, UNSUBSCRIBED, BOUNCED = 7, 8, 9, 10, 11, 12, 13
EVENT_TYPES: dict[int, str] = {
    FORM: "enquiry_form_submitted",
    VISIT: "page_visit",
    CHAT: "chat_started",
    BROCHURE: "course_brochure_download",
    MC_REG: "masterclass_registered",
    MC_ATT: "masterclass_attended",
    EMAIL_OPEN: "email_opened",
    EMAIL_CLICK: "email_link_clicked",
    SMS: "sms_sent",
    PHONE: "phone_conversation",
    UNREACHABLE: "unreachable",
    UNSUBSCRIBED: "unsubscribed",
    BOUNCED: "email_bounced",
}

# CRM: counsellors' tasks (Type, Subject, weight) and the open stages of an enrolment.
TASK_KINDS: tuple[tuple[str, str, float], ...] = (
    ("Call", "Call: course counselling", 40),
    ("Call", "Call: no answer", 25),
    ("Email", "Email: brochure follow-up", 15),
    ("Email", "Email: application link", 10),
    ("Call", "Call: fee discussion", 10),
)
OPEN_STAGES: tuple[str, ...] = ("Application Started", "Documents Pending", "Fee Pending")
