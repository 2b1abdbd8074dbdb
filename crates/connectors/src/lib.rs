//! Provider connectors for the unified CRM API (being written).
