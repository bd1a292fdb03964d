module capriccio/goknot

go 1.19
