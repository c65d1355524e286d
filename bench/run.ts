/**
 * `npm run bench`: every benchmark in one run, on this machine. Prints each
 * table and writes bench/results/latest.json and latest.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { gatewayMarkdown, runGatewayBench } from './gateway.js';

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const started = new Date().toISOString();
const sections: { name: string; markdown: string; data: unknown }[] = [];

console.log(`# Switchyard benchmarks\n${machine}\n${started}\n`);

console.log('## Gateway overhead');
const gw = await runGatewayBench();
sections.push({ name: 'gateway', markdown: gatewayMarkdown(gw), data: gw });

mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/latest.json', JSON.stringify({ machine, started, sections }, null, 2));
const md = [`# Switchyard benchmarks`, '', `${machine}, ${started}`, ''];
for (const s of sections) md.push(`## ${s.name}`, '', s.markdown, '');
writeFileSync('bench/results/latest.md', md.join('\n'));
console.log(`\n${md.join('\n')}`);
