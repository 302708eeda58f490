import { describe, expect, it } from 'vitest';
import { parseAddresses } from '../../src/core/config/addresses';
import { formatReservations, hostsDirFile, hostsDirOwner } from '../../src/dhcp/formats';
import { checkDuplicates, type Reservation } from '../../src/dhcp/reservations';
import { ConfigError } from '../../src/errors';

const fail = (what: string, value: string | undefined, why: string): never => {
  throw new ConfigError(`${what} (${JSON.stringify(value)}): ${why}`);
};

const R = (subhost: string, mac: string, ip?: string, hostname = subhost, i = 0): Reservation => ({ subhost, interface: `eth${i}`, bridge: 'br0', mac, ...(ip ? { ip, cidr: `${ip}/24` } : {}), hostname });

describe('ADDRESSES', () => {
  it('takes one CIDR or - per bridge', () => {
    expect(parseAddresses(['10.0.0.5/24', '-'], 2, fail)).toEqual([{ cidr: '10.0.0.5/24', ip: '10.0.0.5', prefix: 24 }, undefined]);
    expect(parseAddresses([], 2, fail)).toEqual([undefined, undefined]);
  });

  it.each([
    [['10.0.0.5/24'], 2, /ADDRESSES \("10.0.0.5\/24"\): has 1 element but BRIDGES has 2/],
    [['10.0.0.300/24'], 1, /ADDRESSES\[0\] \("10.0.0.300\/24"\): 10.0.0.300 is not an IPv4 address/],
    [['web1'], 1, /ADDRESSES\[0\] \("web1"\): expected an address with its prefix length/],
    [['10.0.0.255/24'], 1, /broadcast address/],
    [['127.0.0.2/8'], 1, /loopback/],
    [['224.0.0.5/24'], 1, /multicast/],
    [['10.0.0.5/33'], 1, /prefix length \/33/],
    [['10.0.0.5/24', '10.0.0.5/16'], 2, /ADDRESSES\[1\].*also given by ADDRESSES\[0\]/],
  ])('refuses %j for %i bridges', (elements, n, re) => {
    expect(() => parseAddresses(elements as string[], n as number, fail)).toThrow(re as RegExp);
  });
});

describe('dhcp reservations', () => {
  const rs = [R('web1', '02:00:00:00:00:01', '10.0.0.5', 'web1.example.org'), R('web2', '02:00:00:00:00:02')];

  it('prints each format', () => {
    expect(formatReservations(rs, 'dnsmasq')).toContain('dhcp-host=02:00:00:00:00:01,10.0.0.5,web1  # web1 eth0 on br0\ndhcp-host=02:00:00:00:00:02,web2  #');
    expect(formatReservations(rs, 'dnsmasq-hosts')).toContain('\n02:00:00:00:00:01,10.0.0.5,web1  # web1 eth0 on br0\n');
    expect(formatReservations(rs, 'isc')).toContain('host web1-eth0 {  # on br0\n  hardware ethernet 02:00:00:00:00:01;\n  fixed-address 10.0.0.5;\n  option host-name "web1.example.org";\n}');
    expect(JSON.parse(formatReservations(rs, 'json'))[1]).toEqual({ subhost: 'web2', interface: 'eth0', bridge: 'br0', mac: '02:00:00:00:00:02', address: null, ip: null, hostname: 'web2' });
    expect(hostsDirOwner(hostsDirFile('web1', rs.slice(0, 1)))).toBe('web1');
  });

  it('refuses a MAC, address or host name given to two subhosts, naming both', () => {
    expect(() => checkDuplicates([...rs, R('web3', '02:00:00:00:00:01')])).toThrow(/MAC 02:00:00:00:00:01 of web3 eth0 is also the MAC of web1 eth0/);
    expect(() => checkDuplicates([...rs, R('web3', '02:00:00:00:00:03', '10.0.0.5')])).toThrow(/address 10.0.0.5 of web3 eth0 is also in ADDRESSES of web1 eth0/);
    expect(() => checkDuplicates([...rs, R('web3', '02:00:00:00:00:03', undefined, 'web2')])).toThrow(/host name web2 of web3 eth0/);
    // One subhost's interfaces share its host name.
    expect(() => checkDuplicates([...rs, R('web2', '02:00:00:00:00:04', undefined, 'web2', 1)])).not.toThrow();
  });
});
