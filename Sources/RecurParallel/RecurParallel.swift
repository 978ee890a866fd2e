// RecurParallel: placeholder until the module lands.
