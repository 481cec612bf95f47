micro_batch = 4
micro_batch = 8
