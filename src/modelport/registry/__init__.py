"""The registry: metadata store, artifact store and the domain objects built on them."""
