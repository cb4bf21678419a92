package tsh

import (
	"fmt"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/server"
)

// Contents is the cardContents a TSH sends in reader mode for the physical
// card idm of layout: its system code, IDm and PMm, and every area but the
// root with its key version.
func Contents(layout card.Layout, idm felica.IDm, serviceID string) *server.CardContents {
	cc := &server.CardContents{
		CardServiceID: serviceID,
		SystemCode:    layout.SystemCode.String(),
		IDm:           idm.String(),
		PMm:           layout.PMm.String(),
	}
	for _, a := range layout.Areas {
		if a.Code == 0 {
			continue
		}
		cc.AreaCodeList = append(cc.AreaCodeList, server.AreaKey{
			AreaCode: a.Code.String(), KeyVersion: fmt.Sprintf("%04X", a.KeyVersion),
		})
	}
	return cc
}

// DemoProductCode is the product byte of a card in the DEMO layout (block
// 0 of service "info", byte 1), which the ledger's productCode repeats;
// false when the image has no info block.
func DemoProductCode(img card.Image) (int, bool) {
	info := img.Blocks["info"]
	if len(info) == 0 {
		return 0, false
	}
	return int(info[0][1]), true
}
