"""Arguments and outputs of each resource, one module per resource: imported by the program
side (``dumont_iac.resources``) and the engine side (``dumont_iac.provider``) alike."""
