const m = await import('/work/main/bench/soak.ts');
const r = await m.run(process.argv.slice(2));
console.log(JSON.stringify(r, null, 1));
process.exit(0);
