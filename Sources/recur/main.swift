print("recur")
