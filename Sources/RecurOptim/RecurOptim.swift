// RecurOptim: placeholder until the module lands.
