package market

import (
	"fmt"
	"testing"
)

func TestScratch(t *testing.T) {
	p := started(t, newClient(t), "mono")
	fmt.Println(render(t, p, 40, 10, true))
	fmt.Println("=====")
	fmt.Println(render(t, p, 200, 60, false))
	fmt.Println("=====")
	act(t, p, Edit, "")
	fmt.Println(render(t, p, 100, 30, false))
}
