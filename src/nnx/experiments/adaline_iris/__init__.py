"""adaline_iris: one Adaline (LMS) per task, setosa-vs-rest and versicolor-vs-rest, on standardized iris.

Beside each trained Adaline we solve the same least-squares problem in closed form: LMS converges to that
solution, so its test accuracy is the one our Adaline should reach.
"""
