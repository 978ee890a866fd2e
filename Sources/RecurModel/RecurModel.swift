// RecurModel: placeholder until the module lands.
