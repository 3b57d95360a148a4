"""Talking to the CRM: the simple-salesforce client and the file (Data Loader) source."""
