//! snap/1 primitives: hashed keys, accounts, wire messages.
