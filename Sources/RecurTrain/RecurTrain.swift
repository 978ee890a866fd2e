// RecurTrain: placeholder until the module lands.
