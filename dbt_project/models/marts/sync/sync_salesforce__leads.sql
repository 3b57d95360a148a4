{#- Reverse-ETL payload for Salesforce Leads (see macros/person_sync_payload.sql). -#}
{{ person_sync_payload('Lead') }}
