module example.com/nsreload-example

go 1.19
