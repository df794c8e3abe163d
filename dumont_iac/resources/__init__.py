"""Program-side resources: one short module per resource, each a model and a provider on the
``DumontResource`` base. ``dumont_iac.registry`` lists them."""
