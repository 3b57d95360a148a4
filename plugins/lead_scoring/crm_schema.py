"""The Salesforce objects and fields leadscore reads and writes.

One source of truth shared by the synthetic generator, the CRM sandbox, the extractor and the
raw DuckDB tables. Types are the Salesforce field types we rely on:
``id``, ``string``, ``int``, ``double``, ``boolean``, ``date``, ``datetime``.
Field names are Salesforce API names, exactly as a Data Loader export or SOQL returns them.
"""

from __future__ import annotations

# DuckDB type of each field type (raw tables, generated Parquet).
DUCKDB_TYPES: dict[str, str] = {
    "id": "VARCHAR",
    "string": "VARCHAR",
    "int": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}

# Fields leadscore writes back to people (Lead and Contact). They exist in the sandbox and
# must be created in a real org (see docs/operations.md, "Pointing at a real Salesforce org").
PERSON_SCORE_FIELDS: dict[str, str] = {
    "Lead_Score__c": "double",
    "Fit_Score__c": "double",
    "Intent_Score__c": "double",
    "Lead_Tier__c": "string",
    "Lead_Grade__c": "string",
    "Score_Reasons__c": "string",
    "Score_Model_Version__c": "string",
    "Conversion_Probability__c": "double",
    "Scored_At__c": "datetime",
    "SLA_Due_At__c": "datetime",
    "SLA_Status__c": "string",
}

ACCOUNT_SCORE_FIELDS: dict[str, str] = {
    "Account_Score__c": "double",
    "Account_Fit_Score__c": "double",
    "Account_Engagement_Score__c": "double",
    "Engaged_People__c": "int",
    "Score_Model_Version__c": "string",
    "Scored_At__c": "datetime",
}

# Fields of the Tasks leadscore creates (handoff actions, docs/routing-and-slas.md). The
# custom field holds the action's idempotency key: in a real org it is a Text(255) External ID,
# Unique (see CREATE_ONCE_KEYS).
TASK_ACTION_FIELDS: dict[str, str] = {
    "WhoId": "id",
    "OwnerId": "id",
    "Subject": "string",
    "Description": "string",
    "Priority": "string",
    "Status": "string",
    "Type": "string",
    "ActivityDate": "date",
    "IsReminderSet": "boolean",
    "ReminderDateTime": "datetime",
    "Leadscore_Action_Id__c": "string",
}

# Fields of the CampaignMembers leadscore creates (nurture, docs/write-back.md): the person is
# a member of a marketer's Campaign, found by its name (dbt_project/seeds/nurture_campaigns.csv). The
# custom field holds the membership's idempotency key, a Text(255) External ID, Unique, as on
# Task. Salesforce allows one member per (CampaignId, LeadId) and (CampaignId, ContactId).
CAMPAIGN_MEMBER_FIELDS: dict[str, str] = {
    "CampaignId": "id",
    "LeadId": "id",
    "ContactId": "id",
    "Status": "string",
    "Leadscore_Action_Id__c": "string",
}

_AUDIT: dict[str, str] = {
    "IsDeleted": "boolean",
    "CreatedDate": "datetime",
    "LastModifiedDate": "datetime",
    "SystemModstamp": "datetime",
}

OBJECTS: dict[str, dict[str, str]] = {
    "User": {
        "Id": "id",
        "Name": "string",
        "Email": "string",
        "IsActive": "boolean",
        "Department": "string",
        "TimeZoneSidKey": "string",
        "ManagerId": "id",
        "CreatedDate": "datetime",
        "LastModifiedDate": "datetime",
        "SystemModstamp": "datetime",
    },
    "Account": {
        "Id": "id",
        "Name": "string",
        "Website": "string",
        "Industry": "string",
        "NumberOfEmployees": "int",
        "AnnualRevenue": "double",
        "BillingCountry": "string",
        "BillingState": "string",
        "Type": "string",
        "Technologies__c": "string",
        "OwnerId": "id",
        **_AUDIT,
        **ACCOUNT_SCORE_FIELDS,
    },
    "Lead": {
        "Id": "id",
        "FirstName": "string",
        "LastName": "string",
        "Email": "string",
        "Company": "string",
        "Title": "string",
        "Industry": "string",
        "NumberOfEmployees": "int",
        "AnnualRevenue": "double",
        "Country": "string",
        "State": "string",
        "Website": "string",
        "Technologies__c": "string",
        "LeadSource": "string",
        "Status": "string",
        "Disqualification_Reason__c": "string",
        "OwnerId": "id",
        "HasOptedOutOfEmail": "boolean",
        "DoNotCall": "boolean",
        "EmailBouncedDate": "datetime",
        "EmailBouncedReason": "string",
        "IsConverted": "boolean",
        "ConvertedDate": "date",
        "ConvertedAccountId": "id",
        "ConvertedContactId": "id",
        "ConvertedOpportunityId": "id",
        **_AUDIT,
        **PERSON_SCORE_FIELDS,
    },
    "Contact": {
        "Id": "id",
        "AccountId": "id",
        "FirstName": "string",
        "LastName": "string",
        "Email": "string",
        "Title": "string",
        "MailingCountry": "string",
        "MailingState": "string",
        "LeadSource": "string",
        "OwnerId": "id",
        "HasOptedOutOfEmail": "boolean",
        "DoNotCall": "boolean",
        "EmailBouncedDate": "datetime",
        "EmailBouncedReason": "string",
        **_AUDIT,
        **PERSON_SCORE_FIELDS,
    },
    "Opportunity": {
        "Id": "id",
        "AccountId": "id",
        "ContactId": "id",
        "Name": "string",
        "StageName": "string",
        "Amount": "double",
        "CloseDate": "date",
        "IsClosed": "boolean",
        "IsWon": "boolean",
        "LeadSource": "string",
        "OwnerId": "id",
        **_AUDIT,
    },
    "Task": {
        "Id": "id",
        "WhoId": "id",
        "WhatId": "id",
        "OwnerId": "id",
        "Subject": "string",
        "Type": "string",
        "Status": "string",
        "ActivityDate": "date",
        "Description": "string",
        "Priority": "string",
        "IsReminderSet": "boolean",
        "ReminderDateTime": "datetime",
        "Leadscore_Action_Id__c": "string",
        **_AUDIT,
    },
    # Campaigns are a marketer's: leadscore reads them by Name, never writes them
    "Campaign": {
        "Id": "id",
        "Name": "string",
        "Type": "string",
        "Status": "string",
        "IsActive": "boolean",
        "OwnerId": "id",
        **_AUDIT,
    },
    "CampaignMember": {
        "Id": "id",
        **CAMPAIGN_MEMBER_FIELDS,
        **_AUDIT,
    },
}

# Fields leadscore reads when the org has them: an org without one (it was never created there)
# is extracted without it and the column is empty (plugins/lead_scoring/extract/salesforce.py),
# as a Data Loader file without the column is loaded (plugins/lead_scoring/load/files.py). The
# sales feedback reads the reason, an org picklist (docs/reports-and-backtest.md, "Sales feedback").
OPTIONAL_READ_FIELDS: dict[str, tuple[str, ...]] = {
    "Lead": ("Disqualification_Reason__c",),
}

# Salesforce key prefixes (the first three characters of an Id) per object.
ID_PREFIX: dict[str, str] = {
    "User": "005",
    "Account": "001",
    "Lead": "00Q",
    "Contact": "003",
    "Opportunity": "006",
    "Task": "00T",
    "Campaign": "701",
    "CampaignMember": "00v",
}

# Objects whose score fields leadscore writes back.
WRITABLE_FIELDS: dict[str, dict[str, str]] = {
    "Lead": {**PERSON_SCORE_FIELDS, "OwnerId": "id"},
    # Contacts stay with their account's owner: the write-back never sends their OwnerId
    "Contact": dict(PERSON_SCORE_FIELDS),
    "Account": dict(ACCOUNT_SCORE_FIELDS),
    # handoff Tasks: created once, never updated (CREATE_ONCE_KEYS)
    "Task": dict(TASK_ACTION_FIELDS),
    # nurture memberships: created once, deleted when the person leaves the nurture tier
    "CampaignMember": dict(CAMPAIGN_MEMBER_FIELDS),
}

# Objects leadscore creates and never updates, with the External ID field that holds each
# record's idempotency key: they are written by an upsert on that field, so a re-sent or
# retried create finds the record it made instead of making a second one.
CREATE_ONCE_KEYS: dict[str, str] = {
    "Task": "Leadscore_Action_Id__c",
    "CampaignMember": "Leadscore_Action_Id__c",
}

# Fields whose combination is unique among an object's live records, as Salesforce enforces
# it (a second create is refused with DUPLICATE_VALUE); a null field takes no part.
UNIQUE_TOGETHER: dict[str, tuple[tuple[str, str], ...]] = {
    "CampaignMember": (("CampaignId", "LeadId"), ("CampaignId", "ContactId")),
}


def key_field(obj: str) -> str:
    """The field a payload row of ``obj`` is matched on: ``Id`` (updates), or the External ID
    of an object created once (``CREATE_ONCE_KEYS``)."""
    return CREATE_ONCE_KEYS.get(obj, "Id")


# Extraction order: parents before children, so a run sees accounts before their people.
EXTRACT_ORDER: tuple[str, ...] = ("User", "Account", "Lead", "Contact", "Opportunity", "Task")


def fields(obj: str) -> list[str]:
    """Field names of ``obj`` in declaration order; a clear error for an unknown object."""
    try:
        return list(OBJECTS[obj])
    except KeyError:
        raise KeyError(f"unknown CRM object {obj!r}; known: {', '.join(OBJECTS)}") from None


def has_soft_delete(obj: str) -> bool:
    """Whether the object carries IsDeleted (User does not, as in Salesforce)."""
    return "IsDeleted" in OBJECTS[obj]
