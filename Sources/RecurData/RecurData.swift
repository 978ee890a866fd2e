// RecurData: placeholder until the module lands.
