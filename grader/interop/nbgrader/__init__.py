"""nbgrader interop: grade nbgrader notebooks as nbgrader would (`compat`), export our reports into an
nbgrader gradebook for formgrader (`gradebook`).

`cellrunner` is copied into the sandbox as the student's module (it runs their cells one by one) and
`judge_tests` into the judge's test folder (it runs the notebook's test cells): both are templates,
imported there and never here. Nothing in this package writes a report; it builds one through the
pipeline like any other submission.
"""
