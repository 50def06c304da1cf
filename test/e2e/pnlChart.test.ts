import { createCanvas, loadImage } from '@napi-rs/canvas';
import { afterEach, describe, expect, it } from 'vitest';
import { PNL_CHART_SIZE } from '../../src/charts/pnlChart';
import { addThroughModal, botWorld, type BotWorld } from '../support/bot';

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('/pnl chart end to end', () => {
  it('attaches a PNG of the expected size that is not blank, once there is realised PnL', { timeout: 120_000 }, async () => {
    world = await botWorld();
    const w = world;
    await w.slash(w.people.admin, 'setup', 'feed-channel', { channel: w.channels.feed }).reply();
    await w.slash(w.people.admin, 'setup', 'caller-role', { role: w.callerRoleId }).reply();
    const { alice, caller } = w.people;
    await addThroughModal(w, alice, { name: 'paper', type: 'futures', mode: 'paper' });
    const [account] = await w.services.accounts.list(alice, w.guild.id);
    await w.slash(alice, 'account', 'toggle', { account: account!.id }).reply();

    // Nothing realised yet: the numbers answer without a chart.
    const empty = w.slash(alice, 'pnl', undefined, { period: 'all' });
    await empty.reply();
    expect(empty.original()?.attachments ?? []).toEqual([]);
    // …and says why there is none.
    expect(empty.original()?.embeds?.[0]?.footer?.text).toContain('No chart: no position of yours closed in all time.');

    await w.slash(caller, 'signal', 'post', { symbol: 'BTC', side: 'long', stop: 45_000, take_profits: '55000' }).reply();
    await w.runCycle();
    w.binance.setPrice('BTCUSDT', 51_000, 'both');
    // Realise it (panic closes at market), so the day has a PnL to draw.
    await w.services.panic.run(alice, w.guild.id, null);

    const pnl = w.slash(alice, 'pnl', undefined, { period: 'all' });
    await pnl.reply();
    const message = pnl.original()!;
    expect(pnl.ephemeral).toBe(true);
    expect(message.attachments).toHaveLength(1);
    const file = w.discord.attachment(message.attachments[0]!.id)!;
    expect(file.filename).toBe('pnl.png');
    expect(file.data.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const image = await loadImage(file.data);
    expect([image.width, image.height]).toEqual([PNL_CHART_SIZE.width, PNL_CHART_SIZE.height]);
    const canvas = createCanvas(image.width, image.height);
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const pixels = context.getImageData(0, 0, image.width, image.height).data;
    // Discord's dark theme behind it (the top-left corner), and a good deal drawn on it.
    expect([pixels[0], pixels[1], pixels[2]]).toEqual([0x2b, 0x2d, 0x31]);
    let inked = 0;
    for (let i = 0; i < pixels.length; i += 4) if (Math.abs(pixels[i]! - 0x2b) + Math.abs(pixels[i + 1]! - 0x2d) + Math.abs(pixels[i + 2]! - 0x31) > 60) inked += 1;
    expect(inked).toBeGreaterThan(1_000);
    expect(message.embeds?.[0]?.image?.url).toContain('pnl.png');
    // The default period (today) still draws: the chart covers the last 30 days, not one dot.
    const today = w.slash(alice, 'pnl', undefined, {});
    await today.reply();
    expect(today.original()?.attachments).toHaveLength(1);
    expect(w.discord.violations).toEqual([]);
  });
});
