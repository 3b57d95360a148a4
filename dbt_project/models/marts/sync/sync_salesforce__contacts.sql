{#- Reverse-ETL payload for Salesforce Contacts (see macros/person_sync_payload.sql). -#}
{{ person_sync_payload('Contact') }}
