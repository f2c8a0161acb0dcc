"""Pure rules of the ETC domain: no Flask, no SQLAlchemy. Values in, values or errors out."""
