module github.com/syscov/syscov

go 1.26.8
