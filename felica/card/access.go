package card

import "github.com/tes-project/tes/felica"

// rejection is the first check a block list failed: the 1-based position of the
// failing element (1 for the counts, which concern the whole list) and SF2.
type rejection struct {
	position int
	flag     byte
}

// target is a block element that passed every check: which service data, which block.
type target struct {
	data  *serviceData
	block int
}

// resolveBlockList checks a Read or Write Without Encryption block list in the
// order FELICA.md gives, and returns the blocks it names or the first failure:
// the counts (A1, A2), then per element the service index (A3), the access mode
// (A7), a service attribute (A4), a service that exists (A6), no key needed and,
// for writes, a read-write code (A5), and the block number (A8); for writes last,
// no more records to a cyclic service than it holds (AF).
//
// authed is true for the secure commands of an authenticated session, whose
// services were all opened by the authentication: keyed services are then allowed.
func (n *nodeTable) resolveBlockList(services []felica.NodeCode, elements []felica.BlockElement, write, authed bool, maxBlocks int) ([]target, *rejection) {
	if len(services) < 1 || len(services) > felica.MaxServicesPerAccess {
		return nil, &rejection{position: 1, flag: felica.SF2ServiceCount}
	}
	if len(elements) < 1 || len(elements) > maxBlocks {
		return nil, &rejection{position: 1, flag: felica.SF2BlockCount}
	}
	targets := make([]target, len(elements))
	for i, e := range elements {
		flag := n.checkElement(services, e, write, authed, &targets[i])
		if flag != 0 {
			return nil, &rejection{position: i + 1, flag: flag}
		}
	}
	if write {
		if pos := cyclicOverflow(targets); pos > 0 {
			return nil, &rejection{position: pos, flag: felica.SF2CyclicOverflow}
		}
	}
	return targets, nil
}

// checkElement runs the per-element checks and fills t when they pass; it returns the
// SF2 of the first failure, or 0.
func (n *nodeTable) checkElement(services []felica.NodeCode, e felica.BlockElement, write, authed bool, t *target) byte {
	if int(e.Service) >= len(services) {
		return felica.SF2ServiceIndex
	}
	if e.Access != felica.AccessNormal && !(write && e.Access == felica.AccessCashback) {
		return felica.SF2IllegalAccess
	}
	code := services[e.Service]
	if !code.IsService() {
		return felica.SF2WrongAttribute
	}
	node, ok := n.services[code]
	if !ok {
		return felica.SF2NoSuchService
	}
	if (code.Keyed() && !authed) || (write && (node.readOnly || e.Access == felica.AccessCashback)) {
		return felica.SF2AccessDenied
	}
	if int(e.Block) >= node.data.Blocks {
		return felica.SF2BlockNumber
	}
	*t = target{data: node.data, block: int(e.Block)}
	return 0
}

// cyclicOverflow returns the 1-based position of the first element that writes one
// record more than its cyclic service holds, or 0.
func cyclicOverflow(targets []target) int {
	counts := make(map[*serviceData]int)
	for i, t := range targets {
		if t.data.Kind != KindCyclic {
			continue
		}
		counts[t.data]++
		if counts[t.data] > t.data.Blocks {
			return i + 1
		}
	}
	return 0
}

// statusFlag1 encodes a failing position as SF1: the ordinal itself, or a bitmap
// with bit position-1 set; positions past 8 have no bit of their own and set bit 7.
func statusFlag1(position int, bitmap bool) byte {
	if !bitmap {
		return byte(position)
	}
	return 1 << (min(position, 8) - 1)
}
