module github.com/zelos-go/zelos/bench

go 1.25.0

require github.com/zelos-go/zelos v0.0.0

replace github.com/zelos-go/zelos => ../
